// Charging's tables (charging/): rate plans, wallets, the double-entry ledger, online-charging sessions
// and call detail records. Same conventions as entities.ts: EntitySchema, epoch-ms BIGINT times.
// Money is BIGINT minor units; the transformer turns pg's strings into numbers and refuses any value
// a JS number cannot hold exactly (it would be silently wrong otherwise).
import { EntitySchema, type ValueTransformer } from 'typeorm';
import { jsonText } from './columns.js';

function toSafeInteger(v: string | number | null | undefined): number | null | undefined {
  if (v === null || v === undefined) return v;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new RangeError(`stored integer ${String(v)} is outside the safe range`);
  return n;
}
const safeBigint: ValueTransformer = { to: (v: number | null | undefined) => v, from: toSafeInteger };
const bigintColumn = (nullable = false) => ({ type: 'bigint' as const, nullable, transformer: safeBigint });

export interface RatePlanRow {
  id: string;
  queueId: string;
  channel: 'chat' | 'call' | 'video' | 'phone';
  currency: string;
  /** Price per minute for agents without a price of their own. */
  perMinuteMinor: number;
  sessionFeeMinor: number;
  freeSeconds: number;
  firstIncrementSeconds: number;
  nextIncrementSeconds: number;
  agentPriceMinMinor: number | null;
  agentPriceMaxMinor: number | null;
  /** The agent's default share of the net (tax-exclusive) amount. */
  revenueShareBps: number;
  /** Tax contained in the price (e.g. 2000 = 20 % VAT on top of the net); 0 for none. */
  taxBps: number;
  active: boolean;
  createdAt: number;
  updatedAt: number;
}

export const RatePlanEntity = new EntitySchema<RatePlanRow>({
  name: 'RatePlan',
  tableName: 'rate_plans',
  columns: {
    id: { type: 'varchar', length: 36, primary: true },
    queueId: { type: 'varchar', length: 40, name: 'queue_id' },
    channel: { type: 'varchar', length: 16 },
    currency: { type: 'varchar', length: 3 },
    perMinuteMinor: { ...bigintColumn(), name: 'per_minute_minor' },
    sessionFeeMinor: { ...bigintColumn(), name: 'session_fee_minor' },
    freeSeconds: { type: 'integer', name: 'free_seconds' },
    firstIncrementSeconds: { type: 'integer', name: 'first_increment_seconds' },
    nextIncrementSeconds: { type: 'integer', name: 'next_increment_seconds' },
    agentPriceMinMinor: { ...bigintColumn(true), name: 'agent_price_min_minor' },
    agentPriceMaxMinor: { ...bigintColumn(true), name: 'agent_price_max_minor' },
    revenueShareBps: { type: 'integer', name: 'revenue_share_bps' },
    taxBps: { type: 'integer', name: 'tax_bps' },
    active: { type: 'boolean', default: true },
    createdAt: { ...bigintColumn(), name: 'created_at' },
    updatedAt: { ...bigintColumn(), name: 'updated_at' },
  },
  uniques: [{ name: 'uq_rate_plans_queue_channel', columns: ['queueId', 'channel'] }],
});

export type WalletKind = 'prepaid' | 'postpaid';

export interface CustomerWalletRow {
  customerId: string;
  currency: string;
  kind: WalletKind;
  /** How far a postpaid wallet may go below zero; 0 for prepaid. The floor is −creditLimitMinor. */
  creditLimitMinor: number;
  /** Held for running sessions; available = balance − reserved − floor. */
  reservedMinor: number;
  createdAt: number;
  updatedAt: number;
}

export const CustomerWalletEntity = new EntitySchema<CustomerWalletRow>({
  name: 'CustomerWallet',
  tableName: 'customer_wallets',
  columns: {
    customerId: { type: 'varchar', length: 64, primary: true, name: 'customer_id' },
    currency: { type: 'varchar', length: 3 },
    kind: { type: 'varchar', length: 16 },
    creditLimitMinor: { ...bigintColumn(), name: 'credit_limit_minor' },
    reservedMinor: { ...bigintColumn(), name: 'reserved_minor' },
    createdAt: { ...bigintColumn(), name: 'created_at' },
    updatedAt: { ...bigintColumn(), name: 'updated_at' },
  },
});

export type LedgerTransactionKind = 'topup' | 'charge' | 'refund' | 'reversal' | 'payout' | 'adjustment';

export interface LedgerTransactionRow {
  id: string;
  idempotencyKey: string;
  kind: LedgerTransactionKind;
  currency: string;
  memo: string | null;
  /** The transaction this one undoes exactly; each transaction is undone at most once. */
  reversalOf: string | null;
  sessionId: string | null;
  createdAt: number;
}

export const LedgerTransactionEntity = new EntitySchema<LedgerTransactionRow>({
  name: 'LedgerTransaction',
  tableName: 'ledger_transactions',
  columns: {
    id: { type: 'varchar', length: 36, primary: true },
    idempotencyKey: { type: 'varchar', length: 160, name: 'idempotency_key', unique: true },
    kind: { type: 'varchar', length: 16 },
    currency: { type: 'varchar', length: 3 },
    memo: { type: 'varchar', length: 300, nullable: true },
    reversalOf: { type: 'varchar', length: 36, nullable: true, name: 'reversal_of', unique: true },
    sessionId: { type: 'varchar', length: 64, nullable: true, name: 'session_id' },
    createdAt: { ...bigintColumn(), name: 'created_at' },
  },
  indices: [{ name: 'idx_ledger_transactions_session', columns: ['sessionId'] }],
});

export interface LedgerPostingRow {
  id: string;
  transactionId: string;
  account: string;
  /** Signed: the postings of one transaction add up to zero. */
  amountMinor: number;
  currency: string;
  createdAt: number;
}

export const LedgerPostingEntity = new EntitySchema<LedgerPostingRow>({
  name: 'LedgerPosting',
  tableName: 'ledger_postings',
  columns: {
    id: { type: 'varchar', length: 36, primary: true },
    transactionId: { type: 'varchar', length: 36, name: 'transaction_id' },
    account: { type: 'varchar', length: 100 },
    amountMinor: { ...bigintColumn(), name: 'amount_minor' },
    currency: { type: 'varchar', length: 3 },
    createdAt: { ...bigintColumn(), name: 'created_at' },
  },
  indices: [
    { name: 'idx_ledger_postings_transaction', columns: ['transactionId'] },
    { name: 'idx_ledger_postings_account', columns: ['account', 'currency', 'createdAt'] },
  ],
});

export interface LedgerBalanceRow {
  account: string;
  currency: string;
  balanceMinor: number;
  updatedAt: number;
}

export const LedgerBalanceEntity = new EntitySchema<LedgerBalanceRow>({
  name: 'LedgerBalance',
  tableName: 'ledger_balances',
  columns: {
    account: { type: 'varchar', length: 100, primary: true },
    currency: { type: 'varchar', length: 3, primary: true },
    balanceMinor: { ...bigintColumn(), name: 'balance_minor' },
    updatedAt: { ...bigintColumn(), name: 'updated_at' },
  },
});

export type ChargingSessionState = 'open' | 'settled';

/** One charged session (a task's bridged time), its reservation and, once settled, its charge. */
export interface ChargingSessionRow {
  id: string;
  taskId: string;
  customerId: string;
  agentId: string;
  queueId: string;
  channel: 'chat' | 'call' | 'video' | 'phone';
  currency: string;
  /** The Tariff (charging/rating.ts) fixed at start. */
  tariff: object;
  shareBps: number;
  state: ChargingSessionState;
  reservedMinor: number;
  /** Bridged seconds the reservation pays for. */
  grantedSeconds: number;
  /** Checkpoint of bridged time, ms: what a recovery after a crash bills. */
  bridgedMs: number;
  startedAt: number;
  updatedAt: number;
  settledAt: number | null;
  billedSeconds: number | null;
  amountMinor: number | null;
  agentMinor: number | null;
  platformMinor: number | null;
  taxMinor: number | null;
  chargeTransactionId: string | null;
  endReason: string | null;
}

export const ChargingSessionEntity = new EntitySchema<ChargingSessionRow>({
  name: 'ChargingSession',
  tableName: 'charging_sessions',
  columns: {
    id: { type: 'varchar', length: 64, primary: true },
    taskId: { type: 'varchar', length: 36, name: 'task_id' },
    customerId: { type: 'varchar', length: 64, name: 'customer_id' },
    agentId: { type: 'varchar', length: 36, name: 'agent_id' },
    queueId: { type: 'varchar', length: 40, name: 'queue_id' },
    channel: { type: 'varchar', length: 16 },
    currency: { type: 'varchar', length: 3 },
    tariff: { type: 'text', transformer: jsonText<object>({}) },
    shareBps: { type: 'integer', name: 'share_bps' },
    state: { type: 'varchar', length: 16 },
    reservedMinor: { ...bigintColumn(), name: 'reserved_minor' },
    grantedSeconds: { ...bigintColumn(), name: 'granted_seconds' },
    bridgedMs: { ...bigintColumn(), name: 'bridged_ms' },
    startedAt: { ...bigintColumn(), name: 'started_at' },
    updatedAt: { ...bigintColumn(), name: 'updated_at' },
    settledAt: { ...bigintColumn(true), name: 'settled_at' },
    billedSeconds: { ...bigintColumn(true), name: 'billed_seconds' },
    amountMinor: { ...bigintColumn(true), name: 'amount_minor' },
    agentMinor: { ...bigintColumn(true), name: 'agent_minor' },
    platformMinor: { ...bigintColumn(true), name: 'platform_minor' },
    taxMinor: { ...bigintColumn(true), name: 'tax_minor' },
    chargeTransactionId: { type: 'varchar', length: 36, nullable: true, name: 'charge_transaction_id' },
    endReason: { type: 'varchar', length: 32, nullable: true, name: 'end_reason' },
  },
  indices: [
    { name: 'idx_charging_sessions_state', columns: ['state'] },
    { name: 'idx_charging_sessions_task', columns: ['taskId'] },
    { name: 'idx_charging_sessions_agent', columns: ['agentId', 'settledAt'] },
    { name: 'idx_charging_sessions_settled', columns: ['settledAt'] },
  ],
});

export type RatingStatus = 'rated' | 'unrated' | 'free' | 'failed';

export interface CdrTariff {
  planId: string | null;
  perMinuteMinor: number;
  sessionFeeMinor: number;
  freeSeconds: number;
  firstIncrementSeconds: number;
  nextIncrementSeconds: number;
}

export interface CallDetailRecordRow {
  id: string;
  sessionId: string;
  taskId: string;
  /** 1 for the first handling of the task, 2 after a transfer, … */
  attempt: number;
  channel: string;
  queueId: string;
  skills: unknown;
  customerId: string;
  agentId: string | null;
  trunkId: string | null;
  enqueuedAt: number;
  offeredAt: number | null;
  answeredAt: number | null;
  endedAt: number | null;
  waitMs: number;
  handleMs: number;
  terminationReason: string;
  tariff: CdrTariff | null;
  billedSeconds: number;
  amountMinor: number;
  currency: string | null;
  chargedParty: string | null;
  ratingStatus: RatingStatus;
  createdAt: number;
}

export const CallDetailRecordEntity = new EntitySchema<CallDetailRecordRow>({
  name: 'CallDetailRecord',
  tableName: 'call_detail_records',
  columns: {
    id: { type: 'varchar', length: 36, primary: true },
    sessionId: { type: 'varchar', length: 64, name: 'session_id' },
    taskId: { type: 'varchar', length: 36, name: 'task_id' },
    attempt: { type: 'integer' },
    channel: { type: 'varchar', length: 16 },
    queueId: { type: 'varchar', length: 40, name: 'queue_id' },
    skills: { type: 'text', transformer: jsonText<unknown>([]) },
    customerId: { type: 'varchar', length: 64, name: 'customer_id' },
    agentId: { type: 'varchar', length: 36, nullable: true, name: 'agent_id' },
    trunkId: { type: 'varchar', length: 64, nullable: true, name: 'trunk_id' },
    enqueuedAt: { ...bigintColumn(), name: 'enqueued_at' },
    offeredAt: { ...bigintColumn(true), name: 'offered_at' },
    answeredAt: { ...bigintColumn(true), name: 'answered_at' },
    endedAt: { ...bigintColumn(true), name: 'ended_at' },
    waitMs: { ...bigintColumn(), name: 'wait_ms' },
    handleMs: { ...bigintColumn(), name: 'handle_ms' },
    terminationReason: { type: 'varchar', length: 32, name: 'termination_reason' },
    tariff: { type: 'text', nullable: true, transformer: jsonText<CdrTariff | null>(null) },
    billedSeconds: { ...bigintColumn(), name: 'billed_seconds' },
    amountMinor: { ...bigintColumn(), name: 'amount_minor' },
    currency: { type: 'varchar', length: 3, nullable: true },
    chargedParty: { type: 'varchar', length: 100, nullable: true, name: 'charged_party' },
    ratingStatus: { type: 'varchar', length: 16, name: 'rating_status' },
    createdAt: { ...bigintColumn(), name: 'created_at' },
  },
  uniques: [{ name: 'uq_cdr_session_attempt', columns: ['sessionId', 'attempt'] }],
  indices: [
    { name: 'idx_cdr_created', columns: ['createdAt', 'id'] },
    { name: 'idx_cdr_agent', columns: ['agentId', 'createdAt'] },
    { name: 'idx_cdr_queue', columns: ['queueId', 'createdAt'] },
    { name: 'idx_cdr_customer', columns: ['customerId', 'createdAt'] },
  ],
});

export const CHARGING_ENTITIES = [
  RatePlanEntity,
  CustomerWalletEntity,
  LedgerTransactionEntity,
  LedgerPostingEntity,
  LedgerBalanceEntity,
  ChargingSessionEntity,
  CallDetailRecordEntity,
];
