// The public surface of charging: rating, wallets and payments, the ledger, online charging, CDRs,
// payouts and reports. Everything else in this folder is internal.
export { CURRENCY_EXPONENTS, assertCurrency, assertMinor, formatMoney, isCurrency, minorUnitDigits, type Money } from './money.js';
export { ChargingValidationError, ConflictError, InsufficientFundsError, PriceNotAcceptedError, WebhookSignatureError } from './errors.js';
export {
  BPS, CHARGING_CHANNELS, MAX_GRANT_SECONDS, billedSecondsFor, rate, secondsAffordable, shareFor, split, tariffFor,
  type ChargingChannel, type RatePlan, type Rating, type Split, type Tariff,
} from './rating.js';
export { RATE_PLAN_DEFAULTS, RatePlanService, validateRatePlan, type RatePlanInput, type RatePlanPatch } from './rate-plans.js';
export { PLATFORM_REVENUE, TAX_PAYABLE, agentAccount, payoutAccount, providerAccount, walletAccount } from './accounts.js';
export { LedgerService, TRANSACTION_KINDS, type LedgerPosting, type LedgerTransaction, type PostInput, type PostingInput, type TransactionKind } from './ledger.js';
export { WalletService, type Wallet, type WalletKind } from './wallets.js';
export {
  AdminCreditProvider, HmacWebhookProvider, SIGNATURE_HEADER, SIGNATURE_TOLERANCE_SECONDS,
  type HmacWebhookOptions, type PaymentEvent, type PaymentEventType, type PaymentProvider, type TopUpRequest,
} from './payments.js';
export { RefundService, chargeKey, type SessionRefundRequest } from './refunds.js';
export {
  CREDIT_CONTROL_DEFAULTS, CreditControl,
  type CreditControlEvents, type CreditControlOptions, type Grant, type SessionStatus, type Settlement, type StartRequest, type Timers,
} from './credit-control.js';
export { CDR_COLUMNS, CdrService, type CallDetailRecord, type CdrFilter, type CdrInput, type CdrPage, type CdrTariff, type RatingStatus } from './cdr.js';
export { toCsv, csvCell, type CsvCell } from './csv.js';
export { PayoutService, type AgentStatement, type EarningsSummary, type Period, type RevenueRow, type StatementLine } from './payouts.js';
