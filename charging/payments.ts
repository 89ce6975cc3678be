// Money coming in: payment providers credit wallets through the ledger (provider:<id> → wallet).
// Admin credits and a signed webhook are the two providers built in; a card processor's own SDK
// would be a third behind the same interface.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { providerAccount, walletAccount } from './accounts.js';
import { ChargingValidationError, WebhookSignatureError } from './errors.js';
import type { LedgerService, LedgerTransaction } from './ledger.js';
import { assertCurrency, assertMinor, isCurrency } from './money.js';
import type { WalletService } from './wallets.js';

export interface TopUpRequest {
  customerId: string;
  amountMinor: number;
  currency: string;
  /** Makes a retry credit once. */
  idempotencyKey: string;
  memo?: string | null;
}

export interface PaymentProvider {
  /** Names the ledger account provider:<id> that money from it is booked against. */
  readonly id: string;
}

/** Top-up: provider −amount, wallet +amount. The wallet is opened in that currency if need be. */
async function bookTopUp(ledger: LedgerService, wallets: WalletService, providerId: string, r: TopUpRequest): Promise<LedgerTransaction> {
  assertMinor(r.amountMinor, 'amountMinor', true);
  if (r.amountMinor === 0) throw new TypeError('a top-up must be more than zero');
  assertCurrency(r.currency);
  await wallets.open(r.customerId, r.currency);
  return ledger.post({
    idempotencyKey: r.idempotencyKey,
    kind: 'topup',
    currency: r.currency,
    memo: r.memo ?? null,
    postings: [
      { account: providerAccount(providerId), amountMinor: -r.amountMinor },
      { account: walletAccount(r.customerId), amountMinor: r.amountMinor },
    ],
  });
}

/** An admin credits a wallet by hand (goodwill, cash, bank transfer); the admin's key makes it happen once. */
export class AdminCreditProvider implements PaymentProvider {
  readonly id = 'admin';

  constructor(
    private readonly ledger: LedgerService,
    private readonly wallets: WalletService,
  ) {}

  async credit(request: TopUpRequest & { adminId: string }): Promise<LedgerTransaction> {
    const memo = request.memo ? `${request.memo} (by ${request.adminId})` : `credited by ${request.adminId}`;
    return bookTopUp(this.ledger, this.wallets, this.id, { ...request, idempotencyKey: `admin:${request.idempotencyKey}`, memo });
  }
}

export type PaymentEventType = 'payment.succeeded' | 'payment.refunded';

export interface PaymentEvent {
  id: string;
  type: PaymentEventType;
  customerId: string;
  amountMinor: number;
  currency: string;
}

export const SIGNATURE_HEADER = 'X-Mccs-Signature';
export const SIGNATURE_TOLERANCE_SECONDS = 300;

export interface HmacWebhookOptions {
  /** provider:<id> in the ledger; also prefixes event ids into idempotency keys. */
  id: string;
  secret: string;
  ledger: LedgerService;
  wallets: WalletService;
  toleranceSeconds?: number;
}

/**
 * A payment processor that tells us of payments by webhook. The body is signed:
 * `X-Mccs-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` with the shared secret
 * (several v1 entries are allowed while a secret is rotated). Events older or newer than the tolerance
 * are refused, so a captured request cannot be replayed later; within it, a replay finds its event id
 * already booked and changes nothing.
 */
export class HmacWebhookProvider implements PaymentProvider {
  readonly id: string;
  readonly #secret: string;
  readonly #ledger: LedgerService;
  readonly #wallets: WalletService;
  readonly #toleranceSeconds: number;

  constructor(options: HmacWebhookOptions) {
    if (!options.secret || options.secret.length < 16) throw new TypeError('the webhook secret must have at least 16 characters');
    this.id = options.id;
    this.#secret = options.secret;
    this.#ledger = options.ledger;
    this.#wallets = options.wallets;
    this.#toleranceSeconds = options.toleranceSeconds ?? SIGNATURE_TOLERANCE_SECONDS;
  }

  /** The header value for a body, as the processor would compute it (tests, tooling). */
  sign(rawBody: string | Buffer, unixSeconds: number): string {
    return `t=${unixSeconds},v1=${this.#mac(unixSeconds, rawBody)}`;
  }

  /** Checks the signature and the timestamp, then parses the event; throws on any doubt. */
  verify(rawBody: string | Buffer, signatureHeader: string | undefined, nowMs: number): PaymentEvent {
    if (!signatureHeader) throw new WebhookSignatureError(`missing ${SIGNATURE_HEADER} header`);
    let t: number | null = null;
    const candidates: string[] = [];
    for (const part of signatureHeader.split(',')) {
      const [name, value] = part.trim().split('=', 2);
      if (name === 't' && value && /^\d{1,12}$/.test(value)) t = Number(value);
      else if (name === 'v1' && value && /^[0-9a-f]{64}$/i.test(value)) candidates.push(value.toLowerCase());
    }
    if (t === null || candidates.length === 0) throw new WebhookSignatureError('malformed signature header');
    const expected = Buffer.from(this.#mac(t, rawBody), 'hex');
    const matches = candidates.some((c) => timingSafeEqual(Buffer.from(c, 'hex'), expected));
    if (!matches) throw new WebhookSignatureError('signature does not match');
    if (Math.abs(Math.floor(nowMs / 1000) - t) > this.#toleranceSeconds) throw new WebhookSignatureError('signature timestamp outside the tolerance');
    return parseEvent(rawBody);
  }

  /** Verifies, then books the event once (its id is the idempotency key): a top-up, or a refund back to the processor. */
  async handle(rawBody: string | Buffer, signatureHeader: string | undefined, nowMs: number): Promise<{ event: PaymentEvent; transaction: LedgerTransaction }> {
    const event = this.verify(rawBody, signatureHeader, nowMs);
    const idempotencyKey = `${this.id}:${event.id}`;
    if (event.type === 'payment.succeeded') {
      const transaction = await bookTopUp(this.#ledger, this.#wallets, this.id, { ...event, idempotencyKey, memo: `payment ${event.id}` });
      return { event, transaction };
    }
    // The processor gave money back to the customer: take it out of the wallet (not below its floor).
    const transaction = await this.#ledger.post({
      idempotencyKey,
      kind: 'refund',
      currency: event.currency,
      memo: `refund ${event.id}`,
      postings: [
        { account: walletAccount(event.customerId), amountMinor: -event.amountMinor },
        { account: providerAccount(this.id), amountMinor: event.amountMinor },
      ],
    });
    return { event, transaction };
  }

  #mac(t: number, rawBody: string | Buffer): string {
    return createHmac('sha256', this.#secret).update(`${t}.`).update(rawBody).digest('hex');
  }
}

function parseEvent(rawBody: string | Buffer): PaymentEvent {
  let body: unknown;
  try {
    body = JSON.parse(rawBody.toString());
  } catch {
    throw new ChargingValidationError('the webhook body is not JSON');
  }
  const e = body as Partial<PaymentEvent>;
  const valid =
    typeof e === 'object' && e !== null &&
    typeof e.id === 'string' && /^[A-Za-z0-9_.-]{1,100}$/.test(e.id) &&
    (e.type === 'payment.succeeded' || e.type === 'payment.refunded') &&
    typeof e.customerId === 'string' && e.customerId.length > 0 &&
    typeof e.amountMinor === 'number' && Number.isSafeInteger(e.amountMinor) && e.amountMinor > 0 &&
    typeof e.currency === 'string';
  if (!valid || !isCurrency(e.currency)) throw new ChargingValidationError('the webhook event is not a payment event in a supported currency');
  return { id: e.id!, type: e.type!, customerId: e.customerId!, amountMinor: e.amountMinor!, currency: e.currency! };
}
