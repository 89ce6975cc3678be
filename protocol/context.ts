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

export interface CustomerContextView {
  customer: {
    id: string;
    displayName: string | null;
    since: number;
    tags: string[];
    flagged: boolean;
    erased: boolean;
    /** Phone numbers and emails are masked unless the queue (or the viewer's role) allows them. */
    identities: Array<{ kind: string; value: string; masked: boolean }>;
  };
  /** Newest first: this conversation, and the earlier ones this viewer may see. */
  sessions: Array<{
    taskId: string;
    channel: string;
    queueName: string;
    agentName: string | null;
    status: string;
    enqueuedAt: number;
    answeredAt: number | null;
    endedAt: number | null;
    endReason: string | null;
    rating: number | null;
    messages: Array<{ sender: string; senderName: string; body: string; createdAt: number }>;
  }>;
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
