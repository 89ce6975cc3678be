// Customer context on the wire: the summary an offer carries, the fuller view of a customer an agent
// gets for a task they hold, and the bodies of notes, tags, merges and ratings (context/).
import { Type, type Static } from '@sinclair/typebox';

/** With each offer and task: is this someone we know, and what to keep in mind. */
export interface OfferContext {
  returning: boolean;
  /** Earlier conversations that an agent answered. */
  sessions: number;
  lastContactAt: number | null;
  previousAgentName: string | null;
  notes: number;
  tags: string[];
  flagged: boolean;
  /** What the customer has paid so far, per currency. */
  paid: Array<{ currency: string; amountMinor: number }>;
  language: string | null;
}

/** One conversation: its queue, its agent (by display name), when, and its first messages. */
export interface ConversationView {
  taskId: string;
  channel: string;
  queueName: string;
  agentName: string | null;
  status: string;
  enqueuedAt: number;
  endedAt: number | null;
  messages: Array<{ sender: string; senderName: string; body: string; createdAt: number }>;
}

export interface CustomerContextView {
  customer: {
    id: string;
    displayName: string | null;
    since: number;
    tags: string[];
    flagged: boolean;
    erased: boolean;
    /**
     * Phone numbers and emails are masked unless the queue (or the viewer's role) allows them. An email
     * the customer gave but has not confirmed with its code is `verified: false`: it links nothing.
     */
    identities: Array<{ kind: string; value: string; masked: boolean; verified: boolean }>;
    /** The language the customer's browser prefers. */
    language: string | null;
  };
  /** Newest first: this conversation, and the earlier ones this viewer may see. */
  sessions: Array<ConversationView & { answeredAt: number | null; endReason: string | null; rating: number | null }>;
  /** Earlier conversations with other agents that this viewer may not see. */
  hiddenSessions: number;
  notes: Array<{ id: string; authorName: string; body: string; createdAt: number }>;
  paid: Array<{ currency: string; amountMinor: number }>;
}

export const NoteBody = Type.Object({ body: Type.String({ minLength: 1, maxLength: 4000 }) }, { additionalProperties: false });
export const TagsBody = Type.Object(
  {
    tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 40, pattern: '^[A-Za-z0-9 _.-]+$' }), { maxItems: 30 })),
    flagged: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);
export const MergeBody = Type.Object({ fromCustomerId: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9-]+$' }) }, { additionalProperties: false });
export type NoteBody = Static<typeof NoteBody>;

// ---- a customer's own email and history (the widget, with the visitor token) ---------------------

export const EmailAddress = Type.String({ format: 'email', minLength: 3, maxLength: 254 });
export const EmailCodeBody = Type.Object({ email: EmailAddress }, { additionalProperties: false });
export const EmailVerifyBody = Type.Object({ email: EmailAddress, code: Type.String({ pattern: '^[0-9]{6}$' }) }, { additionalProperties: false });
export type EmailCodeBody = Static<typeof EmailCodeBody>;
export type EmailVerifyBody = Static<typeof EmailVerifyBody>;

/** A code was mailed; the email stays unverified until it comes back. */
export interface EmailCodeReply {
  email: string;
  expiresAt: number;
  verified: false;
}

export interface EmailVerifiedReply {
  email: string;
  verified: true;
  /** The profile the visitor is now: another one when theirs was merged into an older profile with this email. */
  customerId: string;
  merged: boolean;
  /** A visitor token for that profile, when it is not the one the request came with. */
  visitor?: { token: string; customerId: string; expiresAt: number } | null;
}

/** The customer's own conversations, newest first (agents appear by display name only). */
export interface CustomerHistoryView {
  conversations: ConversationView[];
}
