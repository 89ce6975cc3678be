// Ledger account names. A name says whose money it is; the balance is the sum of its postings.
const ID = /^[A-Za-z0-9_.@-]{1,80}$/;

function withId(prefix: string, id: string): string {
  if (typeof id !== 'string' || !ID.test(id)) throw new TypeError(`invalid id for a ${prefix} account: ${String(id)}`);
  return `${prefix}:${id}`;
}

/** The customer's money (positive: theirs to spend). */
export const walletAccount = (customerId: string): string => withId('wallet', customerId);
/** What the platform owes the agent (earnings not yet paid out). */
export const agentAccount = (agentId: string): string => withId('agent', agentId);
/** Paid out to the agent (grows with each payout). */
export const payoutAccount = (agentId: string): string => withId('payout', agentId);
/** Money received through a payment provider (negative: the provider's side of every top-up). */
export const providerAccount = (providerId: string): string => withId('provider', providerId);
export const PLATFORM_REVENUE = 'platform:revenue';
export const TAX_PAYABLE = 'tax:payable';

const ACCOUNT = /^(?:(?:wallet|agent|payout|provider):[A-Za-z0-9_.@-]{1,80}|platform:revenue|tax:payable)$/;

export function isAccount(name: unknown): name is string {
  return typeof name === 'string' && ACCOUNT.test(name);
}

/** The customer id of a wallet account, or null for other accounts. */
export function walletOwner(account: string): string | null {
  return account.startsWith('wallet:') ? account.slice('wallet:'.length) : null;
}
