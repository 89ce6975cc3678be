// Entities as EntitySchema (no decorators), so the same definitions work under tsc, ts-jest and any
// bundler. Times are epoch milliseconds in BIGINT columns: exact, and the same on SQLite and PostgreSQL.
import { EntitySchema } from 'typeorm';
import { epochMs, timeColumn, jsonText } from './columns.js';
import { CHARGING_ENTITIES } from './charging-entities.js';
import { SOCIAL_ENTITIES } from './social-entities.js';
import { CONTEXT_ENTITIES } from './context-entities.js';
import { PUSH_ENTITIES } from './push-entities.js';
import { ACCOUNT_SECURITY_ENTITIES } from './accounts-entities.js';
import { CANNED_ENTITIES } from './canned-entities.js';
import { SIP_ENTITIES } from './sip-entities.js';

export type Role = 'agent' | 'supervisor' | 'admin';
export interface SkillLevel {
  skill: string;
  level: number;
}

export type AgentVerification = 'pending' | 'verified' | 'rejected' | 'suspended';
/** Channels an agent takes (`phone`: calls placed to phones, i.e. callbacks). */
export type AgentChannel = 'chat' | 'call' | 'video' | 'phone';
export interface AgentPolicies {
  /** Weekly hours in the agent's time zone; empty: any time. Day 0 is Monday. */
  availability: Array<{ day: number; from: string; to: string }>;
  channels: AgentChannel[];
  /** Do not disturb until (epoch ms); null: off. */
  dndUntil: number | null;
}

export interface AccountRow {
  id: string;
  email: string;
  displayName: string;
  role: Role;
  passwordHash: string;
  mustChangePassword: boolean;
  skills: SkillLevel[];
  languages: string[];
  chatCapacity: number;
  /** The agent's own price per minute in the rate plan's currency (within its bounds); null: the plan's price. */
  pricePerMinuteMinor?: number | null;
  /** The agent's share in basis points, overriding the rate plan's default; null: the plan's. */
  revenueShareBps?: number | null;
  /** The agent's own number (E.164), for "ring my phone". */
  phoneNumber?: string | null;
  /** Audio calls ring that number instead of the browser. */
  answerCallsOnPhone?: boolean;
  /** "Get offers when the app is closed": stays ready, reachable by Web Push, when its app's connection drops (docs/push.md). */
  offersWhenClosed?: boolean;
  /** Where the agent works from, in tenths of a degree; for queues that prefer nearby agents. */
  locationLat10?: number | null;
  locationLon10?: number | null;
  /** Agents who signed up themselves start 'pending' (accounts/agent-onboarding.ts); others are 'verified'. */
  verification?: AgentVerification;
  /** Kept private: admins only. */
  legalName?: string | null;
  bio?: string | null;
  /** IANA time zone of the agent's weekly hours. */
  timeZone?: string | null;
  /** The agent's own policies (accounts/agent-policy.ts): hours, channels, do-not-disturb. */
  policies?: AgentPolicies | null;
  /** Bumped to revoke every token issued before (sign out everywhere, suspension). */
  tokenVersion?: number;
  /** TOTP (RFC 6238) secret, base32; enrolled but unconfirmed while totpEnabled is false. Never logged. */
  totpSecret?: string | null;
  totpEnabled?: boolean;
  /** The last time step whose code was accepted: a code is good once. */
  totpLastStep?: number | null;
  createdAt: number;
  updatedAt: number;
}

export const AccountEntity = new EntitySchema<AccountRow>({
  name: 'Account',
  tableName: 'accounts',
  columns: {
    id: { type: 'varchar', length: 36, primary: true },
    email: { type: 'varchar', length: 254, unique: true },
    displayName: { type: 'varchar', length: 80, name: 'display_name' },
    role: { type: 'varchar', length: 16 },
    passwordHash: { type: 'varchar', length: 255, name: 'password_hash' },
    mustChangePassword: { type: 'boolean', name: 'must_change_password', default: false },
    skills: { type: 'text', transformer: jsonText<SkillLevel[]>([]) },
    languages: { type: 'text', transformer: jsonText<string[]>([]) },
    chatCapacity: { type: 'integer', name: 'chat_capacity' },
    pricePerMinuteMinor: { type: 'integer', nullable: true, name: 'price_per_minute_minor' },
    revenueShareBps: { type: 'integer', nullable: true, name: 'revenue_share_bps' },
    phoneNumber: { type: 'varchar', length: 20, nullable: true, name: 'phone_number' },
    answerCallsOnPhone: { type: 'boolean', default: false, name: 'answer_calls_on_phone' },
    offersWhenClosed: { type: 'boolean', default: false, name: 'offers_when_closed' },
    locationLat10: { type: 'integer', nullable: true, name: 'location_lat10' },
    locationLon10: { type: 'integer', nullable: true, name: 'location_lon10' },
    verification: { type: 'varchar', length: 16, default: 'verified' },
    legalName: { type: 'varchar', length: 120, nullable: true, name: 'legal_name' },
    bio: { type: 'text', nullable: true },
    timeZone: { type: 'varchar', length: 64, nullable: true, name: 'time_zone' },
    policies: { type: 'text', nullable: true, transformer: jsonText<AgentPolicies | null>(null) },
    tokenVersion: { type: 'integer', default: 0, name: 'token_version' },
    totpSecret: { type: 'varchar', length: 64, nullable: true, name: 'totp_secret' },
    totpEnabled: { type: 'boolean', default: false, name: 'totp_enabled' },
    totpLastStep: { ...timeColumn(true), name: 'totp_last_step' },
    createdAt: { ...timeColumn(), name: 'created_at' },
    updatedAt: { ...timeColumn(), name: 'updated_at' },
  },
});

export interface QueueRow {
  id: string;
  name: string;
  description: string;
  requiredSkill: string | null;
  createdAt: number;
  strategy: string;
  skills: Array<{ skill: string; minLevel: number }>;
  languages: string[];
  /** An eligibility rule (routing/eligibility.ts), validated by the admin API. */
  rule: object | null;
  /** Relaxation steps (routing/relaxation.ts). */
  relaxation: object[];
  linearOrder: string[];
  weights: Record<string, number>;
  ringAllWidth: number | null;
  preferredAgentSeconds: number;
  maxWaiting: number | null;
  overflowQueueId: string | null;
  /** Opening hours (routing/business-hours.ts); null: always open. */
  businessHours: object | null;
  closedAction: 'refuse' | 'overflow' | 'wait';
  /** Calls (audio and video) of this queue are recorded, and the customer is told so. */
  /** Agents on a call may still be offered this queue's chats. */
  chatsDuringCalls: boolean;
  recordCalls: boolean;
  /** Days its recordings are kept; null: the configured default (MCCS_RECORDING_RETENTION_DAYS). */
  recordingRetentionDays: number | null;
  /** Its agents see customers' phone numbers and emails unmasked. */
  revealContact?: boolean;
  /** Its agents see the customer's sessions with other agents, not only their own. */
  shareHistory?: boolean;
  /** Longest a task should wait here, s; then it is escalated (routing/wait-escalation.ts). null: no limit. */
  maxWaitSeconds?: number | null;
  maxWaitAction?: 'escalate' | 'overflow';
  /** Agents near the customer first, when the customer shared their position. */
  preferNearby?: boolean;
}

export const QueueEntity = new EntitySchema<QueueRow>({
  name: 'Queue',
  tableName: 'queues',
  columns: {
    id: { type: 'varchar', length: 40, primary: true },
    name: { type: 'varchar', length: 80 },
    description: { type: 'varchar', length: 300, default: '' },
    requiredSkill: { type: 'varchar', length: 40, nullable: true, name: 'required_skill' },
    createdAt: { ...timeColumn(), name: 'created_at' },
    strategy: { type: 'varchar', length: 32, default: 'longest_idle' },
    skills: { type: 'text', nullable: true, transformer: jsonText<Array<{ skill: string; minLevel: number }>>([]) },
    languages: { type: 'text', nullable: true, transformer: jsonText<string[]>([]) },
    rule: { type: 'text', nullable: true, transformer: jsonText<object | null>(null) },
    relaxation: { type: 'text', nullable: true, transformer: jsonText<object[]>([]) },
    linearOrder: { type: 'text', nullable: true, name: 'linear_order', transformer: jsonText<string[]>([]) },
    weights: { type: 'text', nullable: true, transformer: jsonText<Record<string, number>>({}) },
    ringAllWidth: { type: 'integer', nullable: true, name: 'ring_all_width' },
    preferredAgentSeconds: { type: 'integer', default: 0, name: 'preferred_agent_seconds' },
    maxWaiting: { type: 'integer', nullable: true, name: 'max_waiting' },
    overflowQueueId: { type: 'varchar', length: 40, nullable: true, name: 'overflow_queue_id' },
    businessHours: { type: 'text', nullable: true, name: 'business_hours', transformer: jsonText<object | null>(null) },
    closedAction: { type: 'varchar', length: 16, default: 'wait', name: 'closed_action' },
    chatsDuringCalls: { type: 'boolean', default: false, name: 'chats_during_calls' },
    recordCalls: { type: 'boolean', default: false, name: 'record_calls' },
    recordingRetentionDays: { type: 'integer', nullable: true, name: 'recording_retention_days' },
    revealContact: { type: 'boolean', default: false, name: 'reveal_contact' },
    shareHistory: { type: 'boolean', default: false, name: 'share_history' },
    maxWaitSeconds: { type: 'integer', nullable: true, name: 'max_wait_seconds' },
    maxWaitAction: { type: 'varchar', length: 16, default: 'escalate', name: 'max_wait_action' },
    preferNearby: { type: 'boolean', default: false, name: 'prefer_nearby' },
  },
});

export interface CustomerRow {
  id: string;
  displayName: string | null;
  createdAt: number;
  /** Labels staff give the customer (context/). */
  tags?: string[];
  /** A customer to serve first: their tasks get a higher priority. */
  flagged?: boolean;
  /** When the customer's personal data was erased (the id stays, pseudonymous, for financial records). */
  erasedAt?: number | null;
  /** The position the customer last shared with consent, in tenths of a degree (about 11 km). */
  locationLat10?: number | null;
  locationLon10?: number | null;
  /** The language the customer's browser prefers (BCP 47, from Accept-Language), for the agent's information. */
  language?: string | null;
}

export const CustomerEntity = new EntitySchema<CustomerRow>({
  name: 'Customer',
  tableName: 'customers',
  columns: {
    id: { type: 'varchar', length: 36, primary: true },
    displayName: { type: 'varchar', length: 80, nullable: true, name: 'display_name' },
    createdAt: { ...timeColumn(), name: 'created_at' },
    tags: { type: 'text', nullable: true, transformer: jsonText<string[]>([]) },
    flagged: { type: 'boolean', default: false },
    erasedAt: { ...timeColumn(true), name: 'erased_at' },
    locationLat10: { type: 'integer', nullable: true, name: 'location_lat10' },
    locationLon10: { type: 'integer', nullable: true, name: 'location_lon10' },
    language: { type: 'varchar', length: 35, nullable: true },
  },
});

export type TaskStatus = 'queued' | 'offered' | 'assigned' | 'wrapup' | 'completed' | 'abandoned';
/** balance_exhausted: the customer's paid time ran out (charging cut the conversation off). */
export type TaskEndReason = 'agent_ended' | 'customer_left' | 'abandoned' | 'system' | 'balance_exhausted';

/** social: a post from the web that the Manager collected, answered at its source (social/). */
export type TaskChannel = 'chat' | 'call' | 'video' | 'social';

export interface TaskRow {
  id: string;
  /** chat, or a browser call (audio, or video with audio) answered in the agent's softphone. */
  channel: TaskChannel;
  queueId: string;
  customerId: string;
  status: TaskStatus;
  priority: number;
  firstMessage: string;
  agentId: string | null;
  enqueuedAt: number;
  offeredAt: number | null;
  acceptedAt: number | null;
  endedAt: number | null;
  endReason: TaskEndReason | null;
  wrapUpCode: string | null;
  wrapUpNotes: string | null;
  completedAt: number | null;
  /** The task's own routing needs (language, skills, budget, previous agent); null for none. */
  requirements: TaskRequirementsRow | null;
  /** E.164 number the customer asked to be called back on; they keep their place in the queue. */
  callbackNumber: string | null;
  callbackRequestedAt: number | null;
}

export interface TaskRequirementsRow {
  /** The customer's coarse position, shared with consent (routing prefers nearby agents where the queue says so). */
  near?: { lat: number; lon: number } | null;
  language?: string | null;
  skills?: Array<{ skill: string; minLevel: number }>;
  budgetPerMinuteMinor?: number | null;
  preferredAgentId?: string | null;
}

export const TaskEntity = new EntitySchema<TaskRow>({
  name: 'Task',
  tableName: 'tasks',
  columns: {
    id: { type: 'varchar', length: 36, primary: true },
    channel: { type: 'varchar', length: 16 },
    queueId: { type: 'varchar', length: 40, name: 'queue_id' },
    customerId: { type: 'varchar', length: 36, name: 'customer_id' },
    status: { type: 'varchar', length: 16 },
    priority: { type: 'integer', default: 0 },
    firstMessage: { type: 'text', name: 'first_message' },
    agentId: { type: 'varchar', length: 36, nullable: true, name: 'agent_id' },
    enqueuedAt: { ...timeColumn(), name: 'enqueued_at' },
    offeredAt: { ...timeColumn(true), name: 'offered_at' },
    acceptedAt: { ...timeColumn(true), name: 'accepted_at' },
    endedAt: { ...timeColumn(true), name: 'ended_at' },
    endReason: { type: 'varchar', length: 24, nullable: true, name: 'end_reason' },
    wrapUpCode: { type: 'varchar', length: 40, nullable: true, name: 'wrap_up_code' },
    wrapUpNotes: { type: 'text', nullable: true, name: 'wrap_up_notes' },
    completedAt: { ...timeColumn(true), name: 'completed_at' },
    requirements: { type: 'text', nullable: true, transformer: jsonText<TaskRequirementsRow | null>(null) },
    callbackNumber: { type: 'varchar', length: 20, nullable: true, name: 'callback_number' },
    callbackRequestedAt: { ...timeColumn(true), name: 'callback_requested_at' },
  },
  indices: [
    { name: 'idx_tasks_status', columns: ['status'] },
    { name: 'idx_tasks_customer', columns: ['customerId'] },
    { name: 'idx_tasks_agent', columns: ['agentId'] },
  ],
});

export type MessageSender = 'customer' | 'agent' | 'system';

export interface MessageRow {
  id: string;
  taskId: string;
  sender: MessageSender;
  senderId: string | null;
  senderName: string;
  body: string;
  clientMsgId: string | null;
  createdAt: number;
}

export const MessageEntity = new EntitySchema<MessageRow>({
  name: 'Message',
  tableName: 'messages',
  columns: {
    id: { type: 'varchar', length: 36, primary: true },
    taskId: { type: 'varchar', length: 36, name: 'task_id' },
    sender: { type: 'varchar', length: 16 },
    senderId: { type: 'varchar', length: 36, nullable: true, name: 'sender_id' },
    senderName: { type: 'varchar', length: 80, name: 'sender_name' },
    body: { type: 'text' },
    clientMsgId: { type: 'varchar', length: 64, nullable: true, name: 'client_msg_id' },
    createdAt: { ...timeColumn(), name: 'created_at' },
  },
  indices: [{ name: 'idx_messages_task', columns: ['taskId', 'createdAt'] }],
  uniques: [{ name: 'uq_messages_client_msg', columns: ['taskId', 'clientMsgId'] }],
});

export type MediaSessionState = 'active' | 'ended';

/** One call on a task: its room on a media node, who started it, and how it ended. */
export interface MediaSessionRow {
  id: string;
  taskId: string;
  video: boolean;
  /** The media node (Janus WebSocket URL) holding the room, so every server process can reach it. */
  nodeId: string;
  state: MediaSessionState;
  recording: boolean;
  startedBy: 'customer' | 'agent';
  startedAt: number;
  /** When customer and agent were both connected; null if they never were. */
  bridgedAt: number | null;
  endedAt: number | null;
  endReason: string | null;
  /** Since when the agent has the customer on hold; null when not on hold. */
  heldAt?: number | null;
  /** Time on hold before the current hold, ms (the current one is added when it ends). */
  heldMs?: number;
}

export const MediaSessionEntity = new EntitySchema<MediaSessionRow>({
  name: 'MediaSession',
  tableName: 'media_sessions',
  columns: {
    id: { type: 'varchar', length: 36, primary: true },
    taskId: { type: 'varchar', length: 36, name: 'task_id' },
    video: { type: 'boolean', default: false },
    nodeId: { type: 'varchar', length: 200, name: 'node_id' },
    state: { type: 'varchar', length: 16 },
    recording: { type: 'boolean', default: false },
    startedBy: { type: 'varchar', length: 16, name: 'started_by' },
    startedAt: { ...timeColumn(), name: 'started_at' },
    bridgedAt: { ...timeColumn(true), name: 'bridged_at' },
    endedAt: { ...timeColumn(true), name: 'ended_at' },
    endReason: { type: 'varchar', length: 32, nullable: true, name: 'end_reason' },
    heldAt: { ...timeColumn(true), name: 'held_at' },
    heldMs: { type: 'bigint', default: 0, name: 'held_ms', transformer: epochMs },
  },
  indices: [
    { name: 'idx_media_sessions_task', columns: ['taskId'] },
    { name: 'idx_media_sessions_state', columns: ['state'] },
  ],
});

export type RecordingKind = 'audio' | 'video';
/** ready: playable file stored; failed: could not be made playable (see failureReason); deleted: retention ran out. */
export type RecordingState = 'ready' | 'failed' | 'deleted';

/** One recorded stream of a call: the session's mixed audio, or one video feed. */
export interface RecordingRow {
  id: string;
  taskId: string;
  mediaSessionId: string;
  queueId: string;
  kind: RecordingKind;
  /** Whose video (video recordings); null for the mixed audio. */
  feedId: string | null;
  /** Relative to the recordings folder (MCCS_RECORDINGS_DIR); null when nothing was kept. */
  filePath: string | null;
  mimeType: string | null;
  bytes: number | null;
  durationMs: number | null;
  state: RecordingState;
  failureReason: string | null;
  startedAt: number;
  endedAt: number;
  createdAt: number;
  /** When the retention sweep deletes the file. */
  expiresAt: number;
}

export const RecordingEntity = new EntitySchema<RecordingRow>({
  name: 'Recording',
  tableName: 'recordings',
  columns: {
    id: { type: 'varchar', length: 36, primary: true },
    taskId: { type: 'varchar', length: 36, name: 'task_id' },
    mediaSessionId: { type: 'varchar', length: 64, name: 'media_session_id' },
    queueId: { type: 'varchar', length: 40, name: 'queue_id' },
    kind: { type: 'varchar', length: 8 },
    feedId: { type: 'varchar', length: 64, nullable: true, name: 'feed_id' },
    filePath: { type: 'varchar', length: 255, nullable: true, name: 'file_path' },
    mimeType: { type: 'varchar', length: 64, nullable: true, name: 'mime_type' },
    // BIGINT: a long video passes 2 GiB; the transformer turns pg's string back into a number.
    bytes: { type: 'bigint', nullable: true, transformer: epochMs },
    durationMs: { type: 'integer', nullable: true, name: 'duration_ms' },
    state: { type: 'varchar', length: 16 },
    failureReason: { type: 'varchar', length: 500, nullable: true, name: 'failure_reason' },
    startedAt: { ...timeColumn(), name: 'started_at' },
    endedAt: { ...timeColumn(), name: 'ended_at' },
    createdAt: { ...timeColumn(), name: 'created_at' },
    expiresAt: { ...timeColumn(), name: 'expires_at' },
  },
  indices: [
    { name: 'idx_recordings_task', columns: ['taskId'] },
    { name: 'idx_recordings_session', columns: ['mediaSessionId'] },
    { name: 'idx_recordings_expiry', columns: ['state', 'expiresAt'] },
  ],
});

export const ENTITIES = [AccountEntity, QueueEntity, CustomerEntity, TaskEntity, MessageEntity, RecordingEntity, MediaSessionEntity, ...CHARGING_ENTITIES, ...SOCIAL_ENTITIES, ...CONTEXT_ENTITIES, ...PUSH_ENTITIES, ...ACCOUNT_SECURITY_ENTITIES, ...SIP_ENTITIES, ...CANNED_ENTITIES];
