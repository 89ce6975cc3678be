// Canned responses on the wire (canned/, docs/agents.md): reusable chat replies with a title, an
// optional "/" shortcut and a body that may hold placeholders, filled in by the agent app on insert.
import { Type } from '@sinclair/typebox';

/**
 * The placeholders a body may hold; anything else in {braces} that looks like one is refused, so a
 * typo is caught when the response is saved rather than sent to a customer. The agent app fills them
 * (web-client/agent/canned.ts).
 */
export type CannedPlaceholder = '{customer.name}' | '{agent.name}' | '{queue.name}';

export interface CannedResponseView {
  id: string;
  /** shared: managed by admins (for every queue, or for `queueId` only); personal: the agent's own. */
  scope: 'shared' | 'personal';
  queueId: string | null;
  title: string;
  shortcut: string | null;
  body: string;
  updatedAt: number;
}

const Title = Type.String({ minLength: 1, maxLength: 80, pattern: '\\S' });
const Body = Type.String({ minLength: 1, maxLength: 4000, pattern: '\\S' });
/** Typed after "/" in the message box: lower-case letters, digits, "-" and "_". */
const Shortcut = Type.Union([Type.Null(), Type.String({ minLength: 1, maxLength: 32, pattern: '^[a-z0-9][a-z0-9_-]*$' })]);
const QueueRef = Type.Union([Type.Null(), Type.String({ minLength: 2, maxLength: 40, pattern: '^[a-z0-9-]+$' })]);

export const PersonalCannedBody = Type.Object(
  { title: Title, body: Body, shortcut: Type.Optional(Shortcut) },
  { additionalProperties: false },
);
export const PersonalCannedPatch = Type.Object(
  { title: Type.Optional(Title), body: Type.Optional(Body), shortcut: Type.Optional(Shortcut) },
  { additionalProperties: false, minProperties: 1 },
);
export const SharedCannedBody = Type.Object(
  { title: Title, body: Body, shortcut: Type.Optional(Shortcut), queueId: Type.Optional(QueueRef) },
  { additionalProperties: false },
);
export const SharedCannedPatch = Type.Object(
  { title: Type.Optional(Title), body: Type.Optional(Body), shortcut: Type.Optional(Shortcut), queueId: Type.Optional(QueueRef) },
  { additionalProperties: false, minProperties: 1 },
);
export const CannedListQuery = Type.Object(
  { queueId: Type.Optional(Type.String({ minLength: 2, maxLength: 40, pattern: '^[a-z0-9-]+$' })) },
  { additionalProperties: false },
);
