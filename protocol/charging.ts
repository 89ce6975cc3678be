// HTTP shapes of charging: quotes, wallets, top-ups, rate plans, agent prices, earnings, revenue and
// call detail records. Money is always an integer count of the currency's minor unit (cents) with its
// ISO 4217 code; the browser formats it (docs/charging.md).
import { Type, type Static } from '@sinclair/typebox';

const Currency = Type.String({ pattern: '^[A-Z]{3}$' });
const Minor = Type.Integer({ minimum: 0, maximum: 1_000_000_000_000 });
const Channel = Type.Union([Type.Literal('chat'), Type.Literal('call'), Type.Literal('video'), Type.Literal('phone')]);
const EpochMs = Type.Integer({ minimum: 0 });
const IdParam = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });

export const QuoteQuery = Type.Object({ channel: Type.Optional(Channel) }, { additionalProperties: false });

/** What a topic costs on a channel, shown before the customer connects and agrees. */
export const QuoteView = Type.Object({
  queueId: Type.String(),
  channel: Channel,
  /** false: free; the other money fields are then absent. */
  charged: Type.Boolean(),
  currency: Type.Optional(Currency),
  /** The topic's price per minute for agents without a price of their own. */
  perMinuteMinor: Type.Optional(Minor),
  /** The range agents of this topic may ask per minute; agree to at most `maxPerMinuteMinor` to reach any of them. */
  minPerMinuteMinor: Type.Optional(Minor),
  maxPerMinuteMinor: Type.Optional(Minor),
  sessionFeeMinor: Type.Optional(Minor),
  freeSeconds: Type.Optional(Type.Integer({ minimum: 0 })),
  firstIncrementSeconds: Type.Optional(Type.Integer({ minimum: 1 })),
  nextIncrementSeconds: Type.Optional(Type.Integer({ minimum: 1 })),
  expectedWaitMs: Type.Union([Type.Null(), Type.Integer()]),
});
export type QuoteView = Static<typeof QuoteView>;

export const WalletView = Type.Object({
  customerId: Type.String(),
  currency: Currency,
  kind: Type.Union([Type.Literal('prepaid'), Type.Literal('postpaid')]),
  balanceMinor: Type.Integer(),
  reservedMinor: Type.Integer(),
  /** What the customer may still spend: balance − reserved − floor. */
  availableMinor: Type.Integer(),
});
export type WalletView = Static<typeof WalletView>;

export const CreditBody = Type.Object(
  {
    amountMinor: Type.Integer({ minimum: 1, maximum: 100_000_000 }),
    currency: Currency,
    /** The admin's own key, so a double click or a retry credits once. */
    idempotencyKey: Type.String({ minLength: 8, maxLength: 100, pattern: '^[A-Za-z0-9_.:-]+$' }),
    memo: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

/** Prepaid (no credit) or postpaid with a credit limit: the wallet may go that far below zero. */
export const CreditTermsBody = Type.Object(
  {
    kind: Type.Union([Type.Literal('prepaid'), Type.Literal('postpaid')]),
    creditLimitMinor: Type.Integer({ minimum: 0, maximum: 100_000_000 }),
    currency: Currency,
  },
  { additionalProperties: false },
);

export const RefundBody = Type.Object(
  {
    /** Part of the session's charge to give back; the whole charge when absent. */
    amountMinor: Type.Optional(Type.Integer({ minimum: 1 })),
    idempotencyKey: Type.String({ minLength: 8, maxLength: 100, pattern: '^[A-Za-z0-9_.:-]+$' }),
    memo: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

export const RatePlanFields = {
  queueId: IdParam,
  channel: Channel,
  currency: Currency,
  perMinuteMinor: Minor,
  sessionFeeMinor: Type.Optional(Minor),
  freeSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 3600 })),
  firstIncrementSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600 })),
  nextIncrementSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600 })),
  agentPriceMinMinor: Type.Optional(Type.Union([Type.Null(), Minor])),
  agentPriceMaxMinor: Type.Optional(Type.Union([Type.Null(), Minor])),
  revenueShareBps: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })),
  taxBps: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })),
  active: Type.Optional(Type.Boolean()),
};
export const RatePlanBody = Type.Object(RatePlanFields, { additionalProperties: false });
export type RatePlanBody = Static<typeof RatePlanBody>;

export const AgentPriceBody = Type.Object(
  // Null first, so body coercion keeps a null ("the topic's price") instead of making it 0.
  { pricePerMinuteMinor: Type.Union([Type.Null(), Minor]) },
  { additionalProperties: false },
);
export const RevenueShareBody = Type.Object(
  { revenueShareBps: Type.Union([Type.Null(), Type.Integer({ minimum: 0, maximum: 10_000 })]) },
  { additionalProperties: false },
);

export const PeriodQuery = Type.Object(
  { from: Type.Optional(EpochMs), to: Type.Optional(EpochMs) },
  { additionalProperties: false },
);
export const CdrQuery = Type.Object(
  {
    from: Type.Optional(EpochMs),
    to: Type.Optional(EpochMs),
    agentId: Type.Optional(IdParam),
    queueId: Type.Optional(IdParam),
    customerId: Type.Optional(IdParam),
    format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')])),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
  },
  { additionalProperties: false },
);
