// Wire contract between the server and its browser clients: socket.io event maps per namespace and
// the payload schemas the server validates at the edge. The browser imports only the types.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { QueueMetricsSnapshot, QueueMetricsView } from './http.js';

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

export const ChatStartPayload = Type.Object(
  { queueId: Id, text: MessageText, clientMsgId: ClientMsgId, displayName: Type.Optional(Type.String({ maxLength: 80 })) },
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
}

export interface CustomerClientToServer {
  'chat:start': (p: Static<typeof ChatStartPayload>, ack: AckFn<CustomerChatView>) => void;
  'chat:send': (p: Static<typeof ChatSendPayload>, ack: AckFn<ChatMessage>) => void;
  'chat:resume': (p: Static<typeof TaskRef>, ack: AckFn<CustomerChatView>) => void;
  'chat:leave': (p: Static<typeof TaskRef>, ack: AckFn<{ status: TaskStatus }>) => void;
  /** Leave the wait but keep the place: an agent calls this number when the turn comes. */
  'chat:callback': (p: Static<typeof CallbackPayload>, ack: AckFn<{ taskId: string; position: number | null; callbackNumber: string }>) => void;
}
export interface CustomerServerToClient {
  'chat:message': (m: ChatMessage) => void;
  'chat:queued': (e: { taskId: string; position: number; expectedWaitMs?: number | null }) => void;
  'chat:assigned': (e: { taskId: string; agentName: string }) => void;
  'chat:ended': (e: { taskId: string; by: 'agent' | 'customer' | 'system' }) => void;
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
export const WrapUpPayload = Type.Object(
  { taskId: Id, code: Type.Optional(Type.String({ maxLength: 40 })), notes: Type.Optional(Type.String({ maxLength: 2000 })) },
  { additionalProperties: false },
);

export interface Offer {
  taskId: string;
  channel: 'chat';
  queue: QueueInfo;
  customerName: string;
  firstMessage: string;
  enqueuedAt: number;
  expiresAt: number;
  /** Set when the customer left the wait and asked to be called back on this number. */
  callbackNumber?: string | null;
}

export interface AgentTaskView {
  taskId: string;
  queue: QueueInfo;
  status: TaskStatus;
  customerName: string;
  messages: ChatMessage[];
  callbackNumber?: string | null;
}

export interface AgentStatus {
  state: PresenceState;
  reason: string | null;
  activeTasks: number;
  capacity: number;
}

export interface AgentClientToServer {
  'presence:set': (p: Static<typeof PresencePayload>, ack: AckFn<AgentStatus>) => void;
  'offer:accept': (p: Static<typeof TaskRef>, ack: AckFn<AgentTaskView>) => void;
  'offer:reject': (p: Static<typeof TaskRef>, ack: AckFn<{ taskId: string }>) => void;
  'chat:send': (p: Static<typeof AgentSendPayload>, ack: AckFn<ChatMessage>) => void;
  'chat:end': (p: Static<typeof TaskRef>, ack: AckFn<{ taskId: string; status: TaskStatus }>) => void;
  'wrapup:done': (p: Static<typeof WrapUpPayload>, ack: AckFn<{ taskId: string; status: TaskStatus }>) => void;
}
export interface AgentServerToClient {
  /** Sent once on connect: presence and the tasks the agent already holds (after a reload). */
  hello: (e: { agentId: string; displayName: string; status: AgentStatus; tasks: AgentTaskView[]; offers: Offer[] }) => void;
  offer: (o: Offer) => void;
  'offer:revoked': (e: { taskId: string; reason: 'timeout' | 'taken' | 'abandoned' | 'not_ready' }) => void;
  presence: (s: AgentStatus) => void;
  'chat:message': (m: ChatMessage) => void;
  'task:ended': (e: { taskId: string; by: 'agent' | 'customer' | 'system'; status: TaskStatus }) => void;
  'event:error': (e: { event: string; error: WireError }) => void;
}

/** Payload schemas per namespace and event, compiled once by the server. */
export const CUSTOMER_EVENT_SCHEMAS = {
  'chat:start': ChatStartPayload,
  'chat:send': ChatSendPayload,
  'chat:resume': TaskRef,
  'chat:leave': TaskRef,
  'chat:callback': CallbackPayload,
} satisfies Record<keyof CustomerClientToServer, TSchema>;

export const AGENT_EVENT_SCHEMAS = {
  'presence:set': PresencePayload,
  'offer:accept': TaskRef,
  'offer:reject': TaskRef,
  'chat:send': AgentSendPayload,
  'chat:end': TaskRef,
  'wrapup:done': WrapUpPayload,
} satisfies Record<keyof AgentClientToServer, TSchema>;

// ---- /supervisor namespace ------------------------------------------------------------------

export type { QueueMetricsSnapshot, QueueMetricsView };

/** Limits the stream to these queues; absent or empty: every queue. */
export const QueuesSubscribePayload = Type.Object(
  { queueIds: Type.Optional(Type.Array(Id, { maxItems: 200 })) },
  { additionalProperties: false },
);

export interface SupervisorClientToServer {
  'queues:subscribe': (p: Static<typeof QueuesSubscribePayload>, ack: AckFn<QueueMetricsSnapshot>) => void;
}
export interface SupervisorServerToClient {
  /** On connect, every few seconds, and soon after a change. */
  'queues:metrics': (s: QueueMetricsSnapshot) => void;
  'event:error': (e: { event: string; error: WireError }) => void;
}

export const SUPERVISOR_EVENT_SCHEMAS = {
  'queues:subscribe': QueuesSubscribePayload,
} satisfies Record<keyof SupervisorClientToServer, TSchema>;
