// HTTP request/response shapes shared by the server routes (which validate them) and the web client.
import { Type, type Static } from '@sinclair/typebox';
import { AgentPriceBody } from './charging.js';

export const Email = Type.String({ format: 'email', maxLength: 254 });
export const Password = Type.String({ minLength: 10, maxLength: 200 });

export const LoginBody = Type.Object({ email: Email, password: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });
export const LoginReply = Type.Object({
  token: Type.String(),
  expiresAt: Type.Integer(),
  account: Type.Object({
    id: Type.String(),
    email: Type.String(),
    displayName: Type.String(),
    role: Type.Union([Type.Literal('agent'), Type.Literal('supervisor'), Type.Literal('admin')]),
    mustChangePassword: Type.Boolean(),
  }),
});
export type LoginReply = Static<typeof LoginReply>;

export const ChangePasswordBody = Type.Object(
  { currentPassword: Type.String({ minLength: 1, maxLength: 200 }), newPassword: Password },
  { additionalProperties: false },
);

export const VisitorTokenBody = Type.Object(
  { displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 80 })) },
  { additionalProperties: false },
);
export const VisitorTokenReply = Type.Object({ token: Type.String(), customerId: Type.String(), expiresAt: Type.Integer() });
export type VisitorTokenReply = Static<typeof VisitorTokenReply>;

export const Role = Type.Union([Type.Literal('agent'), Type.Literal('supervisor'), Type.Literal('admin')]);
export const SkillLevel = Type.Object({ skill: Type.String({ minLength: 1, maxLength: 40, pattern: '^[a-z0-9_-]+$' }), level: Type.Integer({ minimum: 1, maximum: 10 }) });

export const CreateAccountBody = Type.Object(
  {
    email: Email,
    displayName: Type.String({ minLength: 1, maxLength: 80 }),
    role: Role,
    password: Password,
    skills: Type.Optional(Type.Array(SkillLevel, { maxItems: 50 })),
    languages: Type.Optional(Type.Array(Type.String({ pattern: '^[a-z]{2,3}$' }), { maxItems: 20 })),
    chatCapacity: Type.Optional(Type.Integer({ minimum: 1, maximum: 20 })),
  },
  { additionalProperties: false },
);
export type CreateAccountBody = Static<typeof CreateAccountBody>;

export const AccountView = Type.Object({
  id: Type.String(),
  email: Type.String(),
  displayName: Type.String(),
  role: Role,
  skills: Type.Array(SkillLevel),
  languages: Type.Array(Type.String()),
  chatCapacity: Type.Integer(),
  createdAt: Type.Integer(),
});
export type AccountView = Static<typeof AccountView>;

export const QueueView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  requiredSkill: Type.Union([Type.Null(), Type.String()]),
  waiting: Type.Integer(),
  /** Within opening hours now. */
  open: Type.Boolean(),
  /** Calls in this topic are recorded: the widget tells the customer before a call starts. */
  recordCalls: Type.Boolean(),
});
export type QueueView = Static<typeof QueueView>;

const SkillName = Type.String({ minLength: 1, maxLength: 40, pattern: '^[a-z0-9_-]+$' });
const QueueId = Type.String({ minLength: 2, maxLength: 40, pattern: '^[a-z0-9-]+$' });
// Null first: request bodies are validated with type coercion (Fastify's default), and ajv tries the
// union's schemas in order, so with the number first a null would be coerced to 0 (a string to '').
const Nullable = <T extends import('@sinclair/typebox').TSchema>(t: T) => Type.Union([Type.Null(), t]);

/** Routing settings of a queue. Shapes are checked here; rules, steps and hours also semantically by the server. */
export const QueueSettingsFields = {
  name: Type.String({ minLength: 1, maxLength: 80 }),
  description: Type.String({ maxLength: 300 }),
  requiredSkill: Nullable(SkillName),
  strategy: Type.Union(
    ['longest_idle', 'least_occupied', 'round_robin', 'ring_all', 'linear', 'best_skill', 'best_rating_in_budget', 'weighted_random'].map((s) =>
      Type.Literal(s),
    ),
  ),
  skills: Type.Array(Type.Object({ skill: SkillName, minLevel: Type.Integer({ minimum: 0, maximum: 10 }) }, { additionalProperties: false }), { maxItems: 20 }),
  languages: Type.Array(Type.String({ pattern: '^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$' }), { maxItems: 20 }),
  /** An eligibility rule over agent attributes, e.g. {"all":[{"attr":"region","in":["eu"]}]} (docs/routing.md). */
  rule: Nullable(Type.Object({}, { additionalProperties: true })),
  /** Relaxation steps: [{"afterSeconds":30,"lowerSkillLevelBy":1,"addQueues":["general"],"widenLanguage":true}]. */
  relaxation: Type.Array(Type.Object({}, { additionalProperties: true }), { maxItems: 10 }),
  linearOrder: Type.Array(Type.String({ maxLength: 64 }), { maxItems: 1000 }),
  weights: Type.Record(Type.String({ maxLength: 64 }), Type.Number({ minimum: 0, maximum: 1000 })),
  ringAllWidth: Nullable(Type.Integer({ minimum: 1, maximum: 100 })),
  preferredAgentSeconds: Type.Integer({ minimum: 0, maximum: 3600 }),
  maxWaiting: Nullable(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
  overflowQueueId: Nullable(QueueId),
  /** {"timeZone":"Europe/Helsinki","week":{"mon":[["09:00","17:00"]]},"closedDates":["2026-12-24"]} */
  businessHours: Nullable(Type.Object({}, { additionalProperties: true })),
  closedAction: Type.Union([Type.Literal('refuse'), Type.Literal('overflow'), Type.Literal('wait')]),
  /** Agents on a call may still be offered this queue's chats (default false: a call excludes chats). */
  chatsDuringCalls: Type.Boolean(),
  /** Record this queue's calls (mixed audio, and video feeds of video calls); customers are told before the call. */
  recordCalls: Type.Boolean(),
  /**
   * Days recordings are kept; null: MCCS_RECORDING_RETENTION_DAYS. One schema with two types, not a
   * union: Fastify's type coercion would turn a 0 into null inside a union and accept it.
   */
  recordingRetentionDays: Type.Unsafe<number | null>({ type: ['integer', 'null'], minimum: 1, maximum: 36_500 }),
  /** Agents of this queue see customers' phone numbers and emails unmasked (default false). */
  revealContact: Type.Boolean(),
  /** Agents of this queue see the customer's sessions with other agents (default false: only their own). */
  shareHistory: Type.Boolean(),
  /** Longest a task should wait, seconds; then it is escalated (served first, supervisors alerted) or moved to the overflow queue. null: no limit. */
  maxWaitSeconds: Type.Unsafe<number | null>({ type: ['integer', 'null'], minimum: 5, maximum: 86_400 }),
  maxWaitAction: Type.Union([Type.Literal('escalate'), Type.Literal('overflow')]),
  /** Agents near the customer first (within bands of 50 km), when the customer shared their position. */
  preferNearby: Type.Boolean(),
};

export const QueueConfigView = Type.Object({
  id: Type.String(),
  createdAt: Type.Integer(),
  waiting: Type.Integer(),
  open: Type.Boolean(),
  ...QueueSettingsFields,
});

export const CreateQueueBody = Type.Composite(
  [Type.Object({ id: QueueId, name: QueueSettingsFields.name }), Type.Partial(Type.Omit(Type.Object(QueueSettingsFields), ['name']))],
  { additionalProperties: false },
);
export type CreateQueueBody = Static<typeof CreateQueueBody>;

export const UpdateQueueBody = Type.Partial(Type.Object(QueueSettingsFields), { additionalProperties: false, minProperties: 1 });
export type UpdateQueueBody = Static<typeof UpdateQueueBody>;


export const ErrorReply = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), data: Type.Optional(Type.Any()) }),
  requestId: Type.Optional(Type.String()),
});

export const ReadinessReply = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('degraded'), Type.Literal('not_ready')]),
  checks: Type.Record(
    Type.String(),
    Type.Object({ state: Type.String(), detail: Type.Optional(Type.String()), required: Type.Boolean() }),
  ),
});

// ---- queue metrics (supervisors) ----------------------------------------------------------------
// Definitions of every figure: docs/routing.md, "Metrics". Times are ms; null means "nothing to measure".

const NullableNumber = Nullable(Type.Number());

export const QueueLiveView = Type.Object({
  waiting: Type.Integer(),
  /** How long the oldest waiting contact has waited (0 when none). */
  longestWaitMs: Type.Number(),
  oldestEnqueuedAt: Nullable(Type.Number()),
  /** Waiting contacts already past the service-level threshold. */
  waitingOverThreshold: Type.Integer(),
  /** Task slots of ready agents serving the queue (agents seen by this node). */
  servingAgents: Type.Integer(),
  /** Expected wait of a contact joining now; null when unknown (too little history, nobody serving). */
  expectedWaitMs: NullableNumber,
  /**
   * Agents serving the queue by state, as their app shows it (docs/routing.md, "Metrics"); agents seen
   * by this node since it started. loggedOff: those who served the queue when last logged in.
   * byPush: of the ready ones, those whose app is closed, reachable by push only (slower to answer; docs/push.md).
   */
  agents: Type.Object({
    ready: Type.Integer(),
    byPush: Type.Integer(),
    busy: Type.Integer(),
    wrapup: Type.Integer(),
    notReady: Type.Integer(),
    loggedOff: Type.Integer(),
  }),
});

export const AgentIntervalView = Type.Object({
  offered: Type.Integer(),
  answered: Type.Integer(),
  missed: Type.Integer(),
  withdrawn: Type.Integer(),
  answerRate: NullableNumber,
  busyMs: Type.Number(),
  availableMs: Type.Number(),
  occupancy: NullableNumber,
});

export const QueueIntervalView = Type.Object({
  /** Bucket-aligned bounds covered: [from, to). */
  from: Type.Number(),
  to: Type.Number(),
  /** False when part of the interval is older than the retention window. */
  complete: Type.Boolean(),
  serviceLevelThresholdMs: Type.Number(),
  entered: Type.Integer(),
  left: Type.Integer(),
  answered: Type.Integer(),
  abandoned: Type.Integer(),
  callbacks: Type.Integer(),
  leftWithinThreshold: Type.Integer(),
  answeredWithinThreshold: Type.Integer(),
  serviceLevel: NullableNumber,
  shortAbandons: Type.Integer(),
  serviceLevelExcludingShortAbandons: NullableNumber,
  asaMs: NullableNumber,
  longestWaitMs: NullableNumber,
  abandonRate: NullableNumber,
  handled: Type.Integer(),
  ahtMs: NullableNumber,
  busyMs: Type.Number(),
  availableMs: Type.Number(),
  occupancy: NullableNumber,
  offered: Type.Integer(),
  offersAnswered: Type.Integer(),
  offersMissed: Type.Integer(),
  offersWithdrawn: Type.Integer(),
  answerRate: NullableNumber,
  agents: Type.Record(Type.String(), AgentIntervalView),
});

export const QueueMetricsView = Type.Object({
  queueId: Type.String(),
  at: Type.Number(),
  live: QueueLiveView,
  interval: QueueIntervalView,
});
export type QueueMetricsView = Static<typeof QueueMetricsView>;

/** Every queue, live and over the current interval. */
export const QueueMetricsSnapshot = Type.Object({ at: Type.Number(), queues: Type.Array(QueueMetricsView) });
export type QueueMetricsSnapshot = Static<typeof QueueMetricsSnapshot>;

/** Contacts waiting over the last half hour per queue: the peak of each bucket, oldest first. */
export const WaitingHistoryView = Type.Object({
  at: Type.Number(),
  bucketMs: Type.Integer(),
  windowMs: Type.Integer(),
  queues: Type.Record(Type.String(), Type.Array(Type.Object({ at: Type.Number(), waiting: Type.Integer() }))),
});
export type WaitingHistoryView = Static<typeof WaitingHistoryView>;

export const QueueMetricsQuery = Type.Object(
  {
    from: Type.Optional(Type.Integer({ minimum: 0, description: 'Start, epoch ms (rounded down to an interval); default: now' })),
    to: Type.Optional(Type.Integer({ minimum: 1, description: 'End, epoch ms (rounded up to an interval); default: now' })),
  },
  { additionalProperties: false },
);

// ---- call recordings ----------------------------------------------------------------------------

export const RecordingView = Type.Object({
  id: Type.String(),
  taskId: Type.String(),
  mediaSessionId: Type.String(),
  queueId: Type.String(),
  kind: Type.Union([Type.Literal('audio'), Type.Literal('video')]),
  /** Whose video, for video recordings. */
  feedId: Nullable(Type.String()),
  /** ready: playable; failed: see failureReason; deleted: its retention period ran out. */
  state: Type.Union([Type.Literal('ready'), Type.Literal('failed'), Type.Literal('deleted')]),
  failureReason: Nullable(Type.String()),
  mimeType: Nullable(Type.String()),
  bytes: Nullable(Type.Integer()),
  durationMs: Nullable(Type.Integer()),
  startedAt: Type.Integer(),
  endedAt: Type.Integer(),
  createdAt: Type.Integer(),
  expiresAt: Type.Integer(),
  /** Where the file is served (bearer token, or a link from POST /api/recordings/:id/link); null unless ready. */
  fileUrl: Nullable(Type.String()),
});
export type RecordingView = Static<typeof RecordingView>;

/** A short-lived URL for an <audio>/<video> element, which cannot send an Authorization header. */
export const RecordingLinkReply = Type.Object({ url: Type.String(), expiresAt: Type.Integer() });
export type RecordingLinkReply = Static<typeof RecordingLinkReply>;

// ---- agent sign-up, verification, policies and account security (docs/agents.md) --------------------

/** Sign-in with an optional second factor: `totp` is required once the account enabled one. */
export const StaffLoginBody = Type.Object(
  { email: Email, password: Type.String({ minLength: 1, maxLength: 200 }), totp: Type.Optional(Type.String({ pattern: '^[0-9]{6}$' })) },
  { additionalProperties: false },
);
export type StaffLoginBody = Static<typeof StaffLoginBody>;

const LanguageCode = Type.String({ pattern: '^[a-z]{2,3}$' });
const AgentSkills = Type.Array(SkillLevel, { maxItems: 50 });
const AgentLanguages = Type.Array(LanguageCode, { maxItems: 20 });
const Bio = Type.String({ maxLength: 1000 });
const TimeZone = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_+/-]+$' });
export const AgentChannel = Type.Union([Type.Literal('chat'), Type.Literal('call'), Type.Literal('video'), Type.Literal('phone')]);
/** One weekly range in the agent's time zone; day 0 is Monday; `to` may be 24:00. */
export const AvailabilityRange = Type.Object(
  {
    day: Type.Integer({ minimum: 0, maximum: 6 }),
    from: Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' }),
    to: Type.String({ pattern: '^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$' }),
  },
  { additionalProperties: false },
);

export const AgentSignupBody = Type.Object(
  {
    email: Email,
    password: Password,
    /** Shown to customers. */
    displayName: Type.String({ minLength: 1, maxLength: 80 }),
    /** Kept private: admins only. */
    legalName: Type.String({ minLength: 1, maxLength: 120 }),
    skills: AgentSkills,
    languages: AgentLanguages,
    bio: Bio,
    /** IANA time zone (Europe/Paris). */
    timeZone: TimeZone,
    /** The agent's own price, as PUT /api/agent/price takes it (minor units per minute; null or absent: each topic's price). */
    pricePerMinuteMinor: Type.Optional(AgentPriceBody.properties.pricePerMinuteMinor),
  },
  { additionalProperties: false },
);
export type AgentSignupBody = Static<typeof AgentSignupBody>;

export const AgentVerificationState = Type.Union([Type.Literal('pending'), Type.Literal('verified'), Type.Literal('rejected'), Type.Literal('suspended')]);

/** What an agent may change of their own profile. Verification, rating and revenue share are not here. */
export const AgentProfileBody = Type.Object(
  {
    displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 80 })),
    skills: Type.Optional(AgentSkills),
    languages: Type.Optional(AgentLanguages),
    bio: Type.Optional(Bio),
    timeZone: Type.Optional(TimeZone),
    availability: Type.Optional(Type.Array(AvailabilityRange, { maxItems: 50 })),
    channels: Type.Optional(Type.Array(AgentChannel, { maxItems: 4, uniqueItems: true })),
    concurrentChats: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })),
    /** Do not disturb until (epoch ms); null turns it off. */
    dndUntil: Type.Optional(Type.Union([Type.Null(), Type.Integer({ minimum: 0 })])),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type AgentProfileBody = Static<typeof AgentProfileBody>;

export const AgentProfileView = Type.Object({
  id: Type.String(),
  email: Type.String(),
  displayName: Type.String(),
  verification: AgentVerificationState,
  skills: Type.Array(SkillLevel),
  languages: Type.Array(Type.String()),
  bio: Type.String(),
  timeZone: Type.String(),
  availability: Type.Array(AvailabilityRange),
  channels: Type.Array(AgentChannel),
  concurrentChats: Type.Integer(),
  dndUntil: Type.Union([Type.Null(), Type.Integer()]),
  totpEnabled: Type.Boolean(),
});
export type AgentProfileView = Static<typeof AgentProfileView>;

export const AgentDocumentMime = Type.Union([Type.Literal('application/pdf'), Type.Literal('image/png'), Type.Literal('image/jpeg')]);
/** A verification document as base64 (at most 5 MB decoded). */
export const AgentDocumentBody = Type.Object(
  { filename: Type.String({ minLength: 1, maxLength: 200 }), mimeType: AgentDocumentMime, contentBase64: Type.String({ minLength: 4, maxLength: 7_000_000 }) },
  { additionalProperties: false },
);
export type AgentDocumentBody = Static<typeof AgentDocumentBody>;
export const AgentDocumentView = Type.Object({ id: Type.String(), filename: Type.String(), mimeType: Type.String(), sizeBytes: Type.Integer(), uploadedAt: Type.Integer() });
export type AgentDocumentView = Static<typeof AgentDocumentView>;

export const VerificationAction = Type.Union([Type.Literal('approve'), Type.Literal('reject'), Type.Literal('suspend'), Type.Literal('reinstate')]);
export const VerificationBody = Type.Object({ action: VerificationAction, reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false });
export type VerificationBody = Static<typeof VerificationBody>;
export const VerificationEventView = Type.Object({ id: Type.String(), action: VerificationAction, reason: Type.String(), byAdmin: Type.String(), at: Type.Integer() });
export type VerificationEventView = Static<typeof VerificationEventView>;

/** An agent as admins see them, the private legal name included. */
export const AdminAgentView = Type.Object({
  id: Type.String(),
  email: Type.String(),
  displayName: Type.String(),
  legalName: Type.Union([Type.Null(), Type.String()]),
  verification: AgentVerificationState,
  skills: Type.Array(SkillLevel),
  languages: Type.Array(Type.String()),
  bio: Type.String(),
  timeZone: Type.String(),
  createdAt: Type.Integer(),
});
export type AdminAgentView = Static<typeof AdminAgentView>;

export const AgentTrustView = Type.Object({
  agentId: Type.String(),
  verification: AgentVerificationState,
  /** Average customer rating 1–5; null when not rated yet. */
  rating: Type.Union([Type.Null(), Type.Number()]),
  ratings: Type.Integer(),
  completedSessions: Type.Integer(),
  /** Charged sessions of the agent refunded in whole or in part. */
  disputes: Type.Integer(),
  documents: Type.Integer(),
  lastDecision: Type.Union([Type.Null(), VerificationEventView]),
});
export type AgentTrustView = Static<typeof AgentTrustView>;

export const PasswordResetBody = Type.Object({ email: Email }, { additionalProperties: false });
export const PasswordResetConfirmBody = Type.Object(
  { token: Type.String({ minLength: 20, maxLength: 100, pattern: '^[A-Za-z0-9_-]+$' }), newPassword: Password },
  { additionalProperties: false },
);
export const TotpEnrolReply = Type.Object({ secret: Type.String(), uri: Type.String() });
export type TotpEnrolReply = Static<typeof TotpEnrolReply>;
export const TotpCodeBody = Type.Object({ code: Type.String({ pattern: '^[0-9]{6}$' }) }, { additionalProperties: false });
