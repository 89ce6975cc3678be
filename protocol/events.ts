// Wire contract between the server and its browser clients: socket.io event maps per namespace and
// the payload schemas the server validates at the edge. The browser imports only the types.
import type { OfferContext } from './context.js';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { AgentVerificationState, QueueMetricsSnapshot, QueueMetricsView } from './http.js';

// ---- shared shapes --------------------------------------------------------------------------

export const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
/** A client-chosen id that makes a send idempotent: a retried send stores one message. */
export const ClientMsgId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
export const MessageText = Type.String({ minLength: 1, maxLength: 4000 });

export type WireError = { code: string; message: string; data?: Record<string, unknown> };
/** Every acknowledgement has this shape: a result, or an error with a stable code. */
export type Ack<T> = { ok: true; data: T } | { ok: false; error: WireError };
export type AckFn<T> = (ack: Ack<T>) => void;

export type MessageSender = 'customer' | 'agent' | 'system';
export interface ChatMessage {
  id: string;
  taskId: string;
  sender: MessageSender;
  senderName: string;
  body: string;
  createdAt: number;
  clientMsgId?: string | null;
}

export type TaskStatus = 'queued' | 'offered' | 'assigned' | 'wrapup' | 'completed' | 'abandoned';
export type PresenceState = 'logged_off' | 'not_ready' | 'ready' | 'busy' | 'wrapup';

export interface QueueInfo {
  id: string;
  name: string;
  description: string;
}

// ---- /customer namespace ------------------------------------------------------------------

/**
 * The customer's agreement to a charged topic's price (from its quote): at most this much per minute,
 * in this currency. Agents priced above it are not offered the task.
 */
export const PriceAgreement = Type.Object(
  {
    maxPerMinuteMinor: Type.Integer({ minimum: 0, maximum: 100_000_000 }),
    currency: Type.String({ pattern: '^[A-Z]{3}$' }),
  },
  { additionalProperties: false },
);

/** A position the customer chose to share (W3C Geolocation); the server keeps it to a tenth of a degree. */
export const SharedLocation = Type.Object(
  { lat: Type.Number({ minimum: -90, maximum: 90 }), lon: Type.Number({ minimum: -180, maximum: 180 }) },
  { additionalProperties: false },
);

export const ChatStartPayload = Type.Object(
  {
    queueId: Id,
    text: MessageText,
    clientMsgId: ClientMsgId,
    displayName: Type.Optional(Type.String({ maxLength: 80 })),
    price: Type.Optional(PriceAgreement),
    location: Type.Optional(SharedLocation),
  },
  { additionalProperties: false },
);
export const ChatSendPayload = Type.Object(
  { taskId: Id, text: MessageText, clientMsgId: ClientMsgId },
  { additionalProperties: false },
);
export const TaskRef = Type.Object({ taskId: Id }, { additionalProperties: false });
/** E.164: a plus, a country code and up to 15 digits in all. */
export const PhoneNumber = Type.String({ pattern: '^\\+[1-9][0-9]{6,14}$' });
export const CallbackPayload = Type.Object({ taskId: Id, phone: PhoneNumber }, { additionalProperties: false });
/** After a conversation: 1–5 stars for the agent, and a comment if the customer wants. */
export const RatePayload = Type.Object(
  { taskId: Id, stars: Type.Integer({ minimum: 1, maximum: 5 }), comment: Type.Optional(Type.String({ maxLength: 1000 })) },
  { additionalProperties: false },
);

/** Starts a task whose channel is a browser call: routed like a chat, answered in the softphone. */
export const CallStartPayload = Type.Object(
  {
    queueId: Id,
    video: Type.Boolean(),
    clientMsgId: ClientMsgId,
    /** What the call is about; shown with the offer. Optional: a caller may just press "Call". */
    text: Type.Optional(MessageText),
    displayName: Type.Optional(Type.String({ maxLength: 80 })),
    price: Type.Optional(PriceAgreement),
    location: Type.Optional(SharedLocation),
  },
  { additionalProperties: false },
);

/** What a charged conversation costs, as the customer agreed it and the agent's price set it. */
export interface ChargeView {
  currency: string;
  perMinuteMinor: number;
  sessionFeeMinor: number;
  /** A call's clock stops while the customer is on hold (a chat's runs from the answer to the end). */
  pausedOnHold: boolean;
}

/** Paid time is running out: `secondsLeft` of bridged time remain, and the balance pays for no more. */
export interface ChargingWarning {
  taskId: string;
  secondsLeft: number;
}

export interface CustomerChatView {
  taskId: string;
  queueId: string;
  status: TaskStatus;
  agentName: string | null;
  position: number | null;
  /** Expected wait at this position, ms; null when unknown. */
  expectedWaitMs?: number | null;
  /** The number the customer asked to be called back on, if they did. */
  callbackNumber?: string | null;
  messages: ChatMessage[];
  /** The call on this task, when there is one. */
  media?: MediaView | null;
}

export interface CustomerClientToServer extends MediaClientToServer {
  'call:start': (p: Static<typeof CallStartPayload>, ack: AckFn<CustomerChatView>) => void;
  'chat:start': (p: Static<typeof ChatStartPayload>, ack: AckFn<CustomerChatView>) => void;
  'chat:send': (p: Static<typeof ChatSendPayload>, ack: AckFn<ChatMessage>) => void;
  'chat:resume': (p: Static<typeof TaskRef>, ack: AckFn<CustomerChatView>) => void;
  'chat:leave': (p: Static<typeof TaskRef>, ack: AckFn<{ status: TaskStatus }>) => void;
  /** Leave the wait but keep the place: an agent calls this number when the turn comes. */
  'chat:callback': (p: Static<typeof CallbackPayload>, ack: AckFn<{ taskId: string; position: number | null; callbackNumber: string }>) => void;
  'chat:rate': (p: Static<typeof RatePayload>, ack: AckFn<{ taskId: string; stars: number }>) => void;
}
export interface CustomerServerToClient extends MediaServerToClient {
  'chat:message': (m: ChatMessage) => void;
  'chat:queued': (e: { taskId: string; position: number; expectedWaitMs?: number | null }) => void;
  'chat:assigned': (e: { taskId: string; agentName: string }) => void;
  /** `reason` when the system ended it: `balance_exhausted` (paid time ran out), `system`. */
  'chat:ended': (e: { taskId: string; by: 'agent' | 'customer' | 'system'; reason?: string }) => void;
  /** The conversation is charged from now on (the agent answered): the price that applies. */
  'charging:started': (e: { taskId: string; charge: ChargeView }) => void;
  'charging:warning': (e: ChargingWarning) => void;
  /** An event the server could not answer through an acknowledgement (none was given). */
  'event:error': (e: { event: string; error: WireError }) => void;
}

// ---- /agent namespace -----------------------------------------------------------------------

export const PresencePayload = Type.Object(
  {
    state: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]),
    reason: Type.Optional(Type.String({ maxLength: 80 })),
  },
  { additionalProperties: false },
);
export const AgentSendPayload = ChatSendPayload;
/** Transfer: the task goes back to waiting, in the given queue and/or offered first to the given agent. */
export const TransferPayload = Type.Object(
  {
    taskId: Id,
    queueId: Type.Optional(Id),
    agentId: Type.Optional(Id),
    /** Warm: on a call, the agent stays on the line with the customer until the next agent joins. */
    warm: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export const WrapUpPayload = Type.Object(
  { taskId: Id, code: Type.Optional(Type.String({ maxLength: 40 })), notes: Type.Optional(Type.String({ maxLength: 2000 })) },
  { additionalProperties: false },
);

export type TaskChannel = 'chat' | 'call' | 'video' | 'social';

export interface Offer {
  taskId: string;
  channel: TaskChannel;
  queue: QueueInfo;
  customerName: string;
  firstMessage: string;
  enqueuedAt: number;
  expiresAt: number;
  /** Set when the customer left the wait and asked to be called back on this number. */
  callbackNumber?: string | null;
  /** A social task: the post to answer. */
  social?: SocialPostView | null;
  /** Who the customer is to us, as far as the queue lets the agent know (context/). */
  context?: OfferContext | null;
}

/** A post from the web (collected by a Manager) that an agent answers at its source. */
export interface SocialPostView {
  sourceId: string;
  sourceName: string;
  url: string | null;
  title: string | null;
  text: string;
  author: { handle?: string; name?: string; url?: string; reach?: number };
  language: string | null;
  publishedAt: number;
  sentiment: { score: number; comparative: number };
  matchedTerms: string[];
  /** What the agent recorded as the answer posted at the source. */
  reply: string | null;
  outcome: SocialOutcome | null;
  /** The author is a known customer with a phone number: the agent can have them called back (social:reach). */
  reachable: boolean;
}
export type SocialOutcome = 'replied' | 'ignored' | 'escalated' | 'spam';

export interface AgentTaskView {
  taskId: string;
  channel?: TaskChannel;
  queue: QueueInfo;
  status: TaskStatus;
  customerName: string;
  messages: ChatMessage[];
  callbackNumber?: string | null;
  media?: MediaView | null;
  social?: SocialPostView | null;
  context?: OfferContext | null;
}

export interface AgentStatus {
  state: PresenceState;
  reason: string | null;
  activeTasks: number;
  capacity: number;
}

export interface AgentClientToServer extends MediaClientToServer, AgentMediaClientToServer {
  'presence:set': (p: Static<typeof PresencePayload>, ack: AckFn<AgentStatus>) => void;
  'offer:accept': (p: Static<typeof TaskRef>, ack: AckFn<AgentTaskView>) => void;
  'offer:reject': (p: Static<typeof TaskRef>, ack: AckFn<{ taskId: string }>) => void;
  'chat:send': (p: Static<typeof AgentSendPayload>, ack: AckFn<ChatMessage>) => void;
  'chat:end': (p: Static<typeof TaskRef>, ack: AckFn<{ taskId: string; status: TaskStatus }>) => void;
  'wrapup:done': (p: Static<typeof WrapUpPayload>, ack: AckFn<{ taskId: string; status: TaskStatus }>) => void;
  /** Hands the conversation (and its call, which stays up for the customer) to a queue or an agent. */
  'task:transfer': (p: Static<typeof TransferPayload>, ack: AckFn<{ taskId: string; queueId: string; status: TaskStatus }>) => void;
  'social:reply': (p: Static<typeof SocialReplyPayload>, ack: AckFn<SocialPostView>) => void;
  /** Reach the author: a callback task to their known number, in the post's queue. */
  'social:reach': (p: Static<typeof TaskRef>, ack: AckFn<{ taskId: string; callbackNumber: string }>) => void;
  'social:handle': (p: Static<typeof SocialHandlePayload>, ack: AckFn<{ taskId: string; status: TaskStatus; social: SocialPostView }>) => void;
  /** The app came on screen or went to the background; sent on every connect too. */
  'app:visibility': (p: Static<typeof AppVisibilityPayload>, ack: AckFn<{ visible: boolean }>) => void;
}
export interface AgentServerToClient extends MediaServerToClient, AgentMediaServerToClient {
  /** Sent once on connect: presence and the tasks the agent already holds (after a reload). */
  hello: (e: { agentId: string; displayName: string; status: AgentStatus; tasks: AgentTaskView[]; offers: Offer[] }) => void;
  offer: (o: Offer) => void;
  'offer:revoked': (e: { taskId: string; reason: 'timeout' | 'taken' | 'abandoned' | 'not_ready' }) => void;
  presence: (s: AgentStatus) => void;
  'chat:message': (m: ChatMessage) => void;
  'task:ended': (e: { taskId: string; by: 'agent' | 'customer' | 'system'; status: TaskStatus; reason?: string }) => void;
  /** The customer's paid time is about to run out: the conversation will be cut off. */
  'charging:warning': (e: ChargingWarning) => void;
  /** An administrator decided on this agent's verification: the app reloads its profile (GET /api/agent/profile). */
  'account:updated': (e: { verification: Static<typeof AgentVerificationState> }) => void;
  'event:error': (e: { event: string; error: WireError }) => void;
}

// ---- media (customer and agent namespaces) ----------------------------------------------------

/** SDP as browsers write it; parsed and checked again (m-lines, size) by the call service. */
export const Sdp = Type.String({ minLength: 10, maxLength: 20_000, pattern: '^v=0\\r?\\n' });
export const FeedId = Type.String({ minLength: 1, maxLength: 96, pattern: '^[A-Za-z0-9_-]+$' });
export const VideoSourceSchema = Type.Union([Type.Literal('camera'), Type.Literal('screen')]);

export const MediaStartPayload = Type.Object({ taskId: Id, video: Type.Boolean() }, { additionalProperties: false });
export const MediaJoinPayload = Type.Object(
  {
    taskId: Id,
    sdp: Sdp,
    /** 'coach' is the agent's second leg while a supervisor whispers; everything else is 'main'. */
    mix: Type.Optional(Type.Union([Type.Literal('main'), Type.Literal('coach')])),
  },
  { additionalProperties: false },
);
export const MediaPublishPayload = Type.Object({ taskId: Id, source: VideoSourceSchema, sdp: Sdp }, { additionalProperties: false });
export const MediaFeedRef = Type.Object({ taskId: Id, feedId: FeedId }, { additionalProperties: false });
export const MediaAnswerPayload = Type.Object({ taskId: Id, subscriptionId: FeedId, sdp: Sdp }, { additionalProperties: false });
export const MediaMutePayload = Type.Object({ taskId: Id, muted: Type.Boolean() }, { additionalProperties: false });
/** The agent puts the customer on hold (true) or takes the call back (false). */
export const MediaHoldPayload = Type.Object({ taskId: Id, held: Type.Boolean() }, { additionalProperties: false });

export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

export type MediaRole = 'customer' | 'agent' | 'supervisor';

export interface MediaFeed {
  feedId: string;
  owner: MediaRole;
  source: 'camera' | 'screen';
}

export interface MediaView {
  taskId: string;
  video: boolean;
  /** Calls on this queue are recorded; the customer is told before joining. */
  recording: boolean;
  startedBy: MediaRole;
  iceServers: IceServer[];
  /** Video feeds published now, to subscribe to. */
  feeds: MediaFeed[];
  /** The agent has the customer on hold (the agent is out of the call; the customer hears music). */
  held?: boolean;
  /** Since when (epoch ms), while held. */
  heldSince?: number | null;
}

/** A call's hold state: in the media:hold acknowledgement and event. */
export interface HoldState {
  taskId: string;
  held: boolean;
  /** Since when (epoch ms), while held. */
  heldSince: number | null;
  /** Time on hold so far in this call, ms, the current hold included. */
  heldMs: number;
}

/** balance_exhausted: the customer's paid time ran out. */
export type MediaEndReason = 'hangup' | 'task_ended' | 'media_lost' | 'media_unavailable' | 'transferred' | 'balance_exhausted';

export const MediaInvitePayload = Type.Object({ taskId: Id, agentId: Id }, { additionalProperties: false });

export interface MediaClientToServer {
  /** Turns a chat that is in progress into a call (either party). */
  'media:start': (p: Static<typeof MediaStartPayload>, ack: AckFn<MediaView>) => void;
  /** Joins the call's audio: the browser's offer in, the media server's answer out. */
  'media:join': (p: Static<typeof MediaJoinPayload>, ack: AckFn<{ sdp: string }>) => void;
  'media:publish': (p: Static<typeof MediaPublishPayload>, ack: AckFn<{ feedId: string; sdp: string }>) => void;
  'media:unpublish': (p: Static<typeof MediaFeedRef>, ack: AckFn<{ feedId: string }>) => void;
  /** The media server offers the feed; the browser answers with media:answer. */
  'media:subscribe': (p: Static<typeof MediaFeedRef>, ack: AckFn<{ subscriptionId: string; sdp: string }>) => void;
  'media:answer': (p: Static<typeof MediaAnswerPayload>, ack: AckFn<{ subscriptionId: string }>) => void;
  'media:mute': (p: Static<typeof MediaMutePayload>, ack: AckFn<{ muted: boolean }>) => void;
  /** Ends the call for everyone; a call task then ends too, a chat goes on. An invited agent only leaves. */
  'media:hangup': (p: Static<typeof TaskRef>, ack: AckFn<{ taskId: string }>) => void;
}

/** Agents only: bring another agent into the call (a third party); hold the customer. */
export interface AgentMediaClientToServer {
  'media:invite': (p: Static<typeof MediaInvitePayload>, ack: AckFn<{ agentId: string }>) => void;
  /** Only the agent holding the conversation; idempotent (holding a held call changes nothing). */
  'media:hold': (p: Static<typeof MediaHoldPayload>, ack: AckFn<HoldState>) => void;
}

export interface MediaServerToClient {
  /** A call started on the task (or after a reload: is going on); join it. */
  'media:ready': (m: MediaView) => void;
  'media:feed': (e: { taskId: string } & MediaFeed) => void;
  'media:feed-ended': (e: { taskId: string; feedId: string }) => void;
  /** Agent only: a supervisor whispers; open (or close) the coach leg. */
  'media:coach': (e: { taskId: string; active: boolean }) => void;
  /** The agent put the call on hold or took it back (both parties; supervisors monitoring it too). */
  'media:hold': (e: HoldState) => void;
  'media:ended': (e: { taskId: string; reason: MediaEndReason }) => void;
}

export interface AgentMediaServerToClient {
  /** Another agent asks you into their call as a third party: join with media:join (the view's task). */
  'media:invited': (e: { taskId: string; from: string; customerName: string; media: MediaView }) => void;
}

const MEDIA_EVENT_SCHEMAS = {
  'media:start': MediaStartPayload,
  'media:join': MediaJoinPayload,
  'media:publish': MediaPublishPayload,
  'media:unpublish': MediaFeedRef,
  'media:subscribe': MediaFeedRef,
  'media:answer': MediaAnswerPayload,
  'media:mute': MediaMutePayload,
  'media:hangup': TaskRef,
} satisfies Record<keyof MediaClientToServer, TSchema>;

/** Payload schemas per namespace and event, compiled once by the server. */
export const CUSTOMER_EVENT_SCHEMAS = {
  ...MEDIA_EVENT_SCHEMAS,
  'call:start': CallStartPayload,
  'chat:start': ChatStartPayload,
  'chat:send': ChatSendPayload,
  'chat:resume': TaskRef,
  'chat:leave': TaskRef,
  'chat:callback': CallbackPayload,
  'chat:rate': RatePayload,
} satisfies Record<keyof CustomerClientToServer, TSchema>;

const SocialOutcomeSchema = Type.Union([Type.Literal('replied'), Type.Literal('ignored'), Type.Literal('escalated'), Type.Literal('spam')]);
/** Records the answer the agent posted (or will post) at the post's source; may be repeated. */
export const SocialReplyPayload = Type.Object({ taskId: Id, text: Type.String({ minLength: 1, maxLength: 10_000 }) }, { additionalProperties: false });
/** Marks the post handled: its outcome goes back to the Manager and the task moves to wrap-up. */
export const SocialHandlePayload = Type.Object(
  { taskId: Id, outcome: SocialOutcomeSchema, reply: Type.Optional(Type.String({ minLength: 1, maxLength: 10_000 })) },
  { additionalProperties: false },
);

/** Whether the agent app is on screen (document.visibilityState): offers are pushed only while none of the agent's connections is. */
export const AppVisibilityPayload = Type.Object({ visible: Type.Boolean() }, { additionalProperties: false });

export const AGENT_EVENT_SCHEMAS = {
  ...MEDIA_EVENT_SCHEMAS,
  'media:invite': MediaInvitePayload,
  'media:hold': MediaHoldPayload,
  'presence:set': PresencePayload,
  'offer:accept': TaskRef,
  'offer:reject': TaskRef,
  'chat:send': AgentSendPayload,
  'chat:end': TaskRef,
  'wrapup:done': WrapUpPayload,
  'task:transfer': TransferPayload,
  'social:reply': SocialReplyPayload,
  'social:reach': TaskRef,
  'social:handle': SocialHandlePayload,
  'app:visibility': AppVisibilityPayload,
} satisfies Record<keyof AgentClientToServer, TSchema>;

// ---- /supervisor namespace ------------------------------------------------------------------

export type { QueueMetricsSnapshot, QueueMetricsView };

/** Limits the stream to these queues; absent or empty: every queue. */
export const QueuesSubscribePayload = Type.Object(
  { queueIds: Type.Optional(Type.Array(Id, { maxItems: 200 })) },
  { additionalProperties: false },
);

export type MonitorMode = 'listen' | 'whisper' | 'barge';
export const MonitorJoinPayload = Type.Object({ taskId: Id, sdp: Sdp }, { additionalProperties: false });
export const MonitorModePayload = Type.Object(
  { taskId: Id, mode: Type.Union([Type.Literal('listen'), Type.Literal('whisper'), Type.Literal('barge')]) },
  { additionalProperties: false },
);

/** A call a supervisor may monitor. */
export interface ActiveCall {
  taskId: string;
  queueId: string;
  video: boolean;
  agentName: string | null;
  customerName: string;
  startedAt: number;
  /** Set while this supervisor monitors the call. */
  monitorMode?: MonitorMode | null;
  /** The agent has the customer on hold. */
  held?: boolean;
}

export interface SupervisorClientToServer {
  'queues:subscribe': (p: Static<typeof QueuesSubscribePayload>, ack: AckFn<QueueMetricsSnapshot>) => void;
  'calls:list': (p: Record<string, never>, ack: AckFn<ActiveCall[]>) => void;
  /** Joins the call's audio muted (listen); the answer comes back. */
  'monitor:join': (p: Static<typeof MonitorJoinPayload>, ack: AckFn<{ sdp: string; iceServers: IceServer[] }>) => void;
  /** whisper: the server asks for the coach leg (monitor:coach); barge: unmuted in the call. */
  'monitor:mode': (p: Static<typeof MonitorModePayload>, ack: AckFn<{ mode: MonitorMode }>) => void;
  /** The supervisor's whisper leg into the coach mix. */
  'monitor:coach': (p: Static<typeof MonitorJoinPayload>, ack: AckFn<{ sdp: string }>) => void;
  'monitor:leave': (p: Static<typeof TaskRef>, ack: AckFn<{ taskId: string }>) => void;
}
export interface SupervisorServerToClient {
  /** The monitored call ended. */
  'media:ended': (e: { taskId: string; reason: MediaEndReason }) => void;
  /** The agent of a monitored call put it on hold or took it back. */
  'media:hold': (e: HoldState) => void;
  /** On connect, every few seconds, and soon after a change. */
  'queues:metrics': (s: QueueMetricsSnapshot) => void;
  /** A task waited past its queue's maximum wait: it was escalated (served first) or moved to the overflow queue. */
  'queue:alert': (e: { taskId: string; queueId: string; waitedMs: number; action: 'escalate' | 'overflow'; toQueueId: string | null; at: number }) => void;
  'event:error': (e: { event: string; error: WireError }) => void;
}

export const SUPERVISOR_EVENT_SCHEMAS = {
  'queues:subscribe': QueuesSubscribePayload,
  'calls:list': Type.Object({}, { additionalProperties: false }),
  'monitor:join': MonitorJoinPayload,
  'monitor:mode': MonitorModePayload,
  'monitor:coach': MonitorJoinPayload,
  'monitor:leave': TaskRef,
} satisfies Record<keyof SupervisorClientToServer, TSchema>;
