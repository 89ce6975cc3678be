// The Manager ↔ server contract: what a Manager (manager/, a separate process or embedded) asks of the
// server's public HTTP API with its service token (`Authorization: Bearer <token>`). The server
// validates the bodies with these schemas; the Manager validates the replies with them.
// docs/manager.md describes the flow.
import { Type, type Static } from '@sinclair/typebox';

const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:-]+$' });
const EpochMs = Type.Integer({ minimum: 0 });
const HttpUrl = Type.String({ maxLength: 2048, pattern: '^https?://' });
const LanguageCode = Type.String({ pattern: '^[a-z]{2}$' });

export const SOURCE_KINDS = ['feed', 'websub', 'webhook', 'stream'] as const;
export const MIN_FEED_INTERVAL_SECONDS = 30;
export const DEFAULT_FEED_INTERVAL_SECONDS = 300;
/** Longest post text the server stores; the Manager cuts longer texts to this. */
export const MAX_POST_TEXT = 10_000;

/** A place posts come from, configured by the admin on the server. */
export const SourceConfig = Type.Object({
  id: Id,
  kind: Type.Union(SOURCE_KINDS.map((k) => Type.Literal(k))),
  name: Type.String({ minLength: 1, maxLength: 200 }),
  /** feed: the RSS/Atom URL; websub: the topic feed to discover the hub from; stream: the SSE URL. */
  url: Type.Optional(HttpUrl),
  /** feed polling period (default 300). */
  intervalSeconds: Type.Optional(Type.Integer({ minimum: MIN_FEED_INTERVAL_SECONDS, maximum: 86_400 })),
  /** websub: the hub; absent: discovered from the topic (Link header or <link rel="hub">). */
  hubUrl: Type.Optional(HttpUrl),
  /** websub: the topic; absent: the feed's rel="self", else `url`. */
  topicUrl: Type.Optional(HttpUrl),
  /** stream: the bearer token of the SSE endpoint. Secret. */
  streamToken: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
  /** webhook: the HMAC-SHA256 key of `X-Signature`. Secret. */
  webhookSecret: Type.Optional(Type.String({ minLength: 16, maxLength: 512 })),
  enabled: Type.Boolean(),
});
export type SourceConfig = Static<typeof SourceConfig>;

/** Which posts become tasks, on which queue, at what priority. */
export const PolicyConfig = Type.Object({
  id: Id,
  name: Type.String({ minLength: 1, maxLength: 200 }),
  /** Sources this policy looks at; empty: all. */
  sourceIds: Type.Array(Id, { maxItems: 500 }),
  queueId: Type.String({ minLength: 1, maxLength: 64 }),
  /** Boolean keyword query, e.g. `"battery" AND (fire OR explode) NOT recall` (docs/manager.md). */
  query: Type.String({ minLength: 1, maxLength: 2000 }),
  /** ISO 639-1 codes; empty: any language. */
  languages: Type.Array(LanguageCode, { maxItems: 50 }),
  /** Only posts whose comparative sentiment is at or below this (e.g. -0.5: negative ones). */
  maxSentiment: Type.Optional(Type.Number({ minimum: -5, maximum: 5 })),
  /** Only authors with at least this many followers. */
  minReach: Type.Optional(Type.Integer({ minimum: 0 })),
  /** Ignore posts published longer ago than this. */
  windowHours: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 24 * 365 })),
  /** Tasks this policy may create per rolling hour; more are dropped. */
  maxTasksPerHour: Type.Optional(Type.Integer({ minimum: 1 })),
  /** Priority before negativity and reach are added (0–100). */
  basePriority: Type.Integer({ minimum: 0, maximum: 100 }),
});
export type PolicyConfig = Static<typeof PolicyConfig>;

/** GET /api/service/manager/config. Items are validated one by one by the Manager: one bad item does not hide the rest. */
export const ManagerConfigReply = Type.Object({ sources: Type.Array(Type.Unknown()), policies: Type.Array(Type.Unknown()) });
export type ManagerConfigReply = { sources: SourceConfig[]; policies: PolicyConfig[] };

export const Author = Type.Object(
  {
    handle: Type.Optional(Type.String({ maxLength: 300 })),
    name: Type.Optional(Type.String({ maxLength: 300 })),
    url: Type.Optional(HttpUrl),
    /** Followers, subscribers: how many people see what the author writes. */
    reach: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);
export type Author = Static<typeof Author>;

export const SocialPost = Type.Object(
  {
    sourceId: Id,
    /** The post's id at its source (RSS guid, Atom id, status id); unique with sourceId. */
    externalId: Type.String({ minLength: 1, maxLength: 1024 }),
    url: Type.Optional(HttpUrl),
    text: Type.String({ maxLength: MAX_POST_TEXT }),
    title: Type.Optional(Type.String({ maxLength: 1000 })),
    author: Author,
    language: Type.Optional(LanguageCode),
    publishedAt: EpochMs,
    /** `sentiment` (AFINN-165): score is the sum, comparative the score per word. */
    sentiment: Type.Object({ score: Type.Number(), comparative: Type.Number() }, { additionalProperties: false }),
    /** Query terms the post matched, to highlight for the agent. */
    matchedTerms: Type.Array(Type.String({ maxLength: 200 }), { maxItems: 100 }),
  },
  { additionalProperties: false },
);
export type SocialPost = Static<typeof SocialPost>;

/** POST /api/service/manager/posts → 201 SubmitPostReply, or 200 with duplicate: true (idempotent on sourceId + externalId). */
export const SocialPostSubmission = Type.Object(
  {
    managerId: Type.String({ minLength: 1, maxLength: 100 }),
    policyId: Id,
    queueId: Type.String({ minLength: 1, maxLength: 64 }),
    priority: Type.Integer({ minimum: 0, maximum: 100 }),
    post: SocialPost,
  },
  { additionalProperties: false },
);
export type SocialPostSubmission = Static<typeof SocialPostSubmission>;

export const SubmitPostReply = Type.Object({ taskId: Type.String(), duplicate: Type.Optional(Type.Boolean()) });
export type SubmitPostReply = Static<typeof SubmitPostReply>;

export const SOURCE_STATES = ['ok', 'error', 'backoff'] as const;
export type SourceState = (typeof SOURCE_STATES)[number];

/** PUT /api/service/manager/sources/:id/status → 204. Shown to the admin. */
export const SourceStatusBody = Type.Object(
  {
    state: Type.Union(SOURCE_STATES.map((s) => Type.Literal(s))),
    reason: Type.Optional(Type.String({ maxLength: 500 })),
    lastFetchAt: Type.Optional(EpochMs),
    nextFetchAt: Type.Optional(EpochMs),
    itemsSeen: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);
export type SourceStatusBody = Static<typeof SourceStatusBody>;

export const OUTCOMES = ['replied', 'ignored', 'escalated', 'spam'] as const;

export const PostOutcome = Type.Object({
  taskId: Type.String(),
  sourceId: Type.String(),
  externalId: Type.String(),
  outcome: Type.Union(OUTCOMES.map((o) => Type.Literal(o))),
  reply: Type.Optional(Type.String()),
  agentId: Type.String(),
  handledAt: EpochMs,
});
export type PostOutcome = Static<typeof PostOutcome>;

/** GET /api/service/manager/outcomes?after=<cursor>: outcomes after the cursor, oldest first, and the cursor to ask from next. */
export const OutcomesQuery = Type.Object({ after: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false });
export const OutcomesReply = Type.Object({ outcomes: Type.Array(PostOutcome), cursor: Type.String({ maxLength: 200 }) });
export type OutcomesReply = Static<typeof OutcomesReply>;

// ---- the Manager's own intake listener ------------------------------------------------------------

/** POST /webhook/:sourceId: one post or an array of them, signed `X-Signature: sha256=<hex HMAC of the raw body>`. */
export const WebhookPost = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 1024 }),
  url: Type.Optional(HttpUrl),
  text: Type.String({ maxLength: 100_000 }),
  title: Type.Optional(Type.String({ maxLength: 1000 })),
  author: Type.Optional(Author),
  language: Type.Optional(Type.String({ maxLength: 35 })),
  /** Epoch ms, or an ISO 8601 date. */
  publishedAt: Type.Union([EpochMs, Type.String({ maxLength: 64 })]),
});
export type WebhookPost = Static<typeof WebhookPost>;
export const WebhookBody = Type.Union([WebhookPost, Type.Array(WebhookPost, { maxItems: 1000 })]);
