// Customer context (context/): the identities a customer is known by, notes agents leave, ratings
// customers give, merges of two profiles, and who looked at whose data. Same conventions as
// entities.ts: EntitySchema, epoch-ms BIGINT times.
import { EntitySchema } from 'typeorm';
import { timeColumn } from './columns.js';

/** phone: E.164; email: lower case; social: "<sourceId>:<handle>"; visitor ids are the customer ids themselves. */
export type IdentityKind = 'phone' | 'email' | 'social';

export interface CustomerIdentityRow {
  id: string;
  customerId: string;
  kind: IdentityKind;
  value: string;
  createdAt: number;
}

export const CustomerIdentityEntity = new EntitySchema<CustomerIdentityRow>({
  name: 'CustomerIdentity',
  tableName: 'customer_identities',
  columns: {
    id: { type: 'varchar', length: 36, primary: true },
    customerId: { type: 'varchar', length: 36, name: 'customer_id' },
    kind: { type: 'varchar', length: 16 },
    value: { type: 'varchar', length: 320 },
    createdAt: { ...timeColumn(), name: 'created_at' },
  },
  uniques: [{ name: 'uq_customer_identities_kind_value', columns: ['kind', 'value'] }],
  indices: [{ name: 'idx_customer_identities_customer', columns: ['customerId'] }],
});

export interface CustomerNoteRow {
  id: string;
  customerId: string;
  /** The task the note was written in. */
  taskId: string | null;
  authorId: string;
  authorName: string;
  body: string;
  createdAt: number;
}

export const CustomerNoteEntity = new EntitySchema<CustomerNoteRow>({
  name: 'CustomerNote',
  tableName: 'customer_notes',
  columns: {
    id: { type: 'varchar', length: 36, primary: true },
    customerId: { type: 'varchar', length: 36, name: 'customer_id' },
    taskId: { type: 'varchar', length: 36, nullable: true, name: 'task_id' },
    authorId: { type: 'varchar', length: 36, name: 'author_id' },
    authorName: { type: 'varchar', length: 80, name: 'author_name' },
    body: { type: 'text' },
    createdAt: { ...timeColumn(), name: 'created_at' },
  },
  indices: [{ name: 'idx_customer_notes_customer', columns: ['customerId', 'createdAt'] }],
});

/** A customer's rating of one handled task (1–5), which feeds the agent's rating in routing. */
export interface RatingRow {
  taskId: string;
  customerId: string;
  agentId: string;
  stars: number;
  comment: string | null;
  createdAt: number;
}

export const RatingEntity = new EntitySchema<RatingRow>({
  name: 'Rating',
  tableName: 'ratings',
  columns: {
    taskId: { type: 'varchar', length: 36, primary: true, name: 'task_id' },
    customerId: { type: 'varchar', length: 36, name: 'customer_id' },
    agentId: { type: 'varchar', length: 36, name: 'agent_id' },
    stars: { type: 'integer' },
    comment: { type: 'varchar', length: 1000, nullable: true },
    createdAt: { ...timeColumn(), name: 'created_at' },
  },
  indices: [{ name: 'idx_ratings_agent', columns: ['agentId'] }],
});

/** Who viewed, exported, changed or erased which customer's data: kept for audits, never edited. */
export interface CustomerAccessRow {
  id: string;
  customerId: string;
  viewerId: string;
  viewerRole: string;
  action: 'view' | 'note' | 'export' | 'erase' | 'merge' | 'tag' | 'email';
  taskId: string | null;
  at: number;
}

export const CustomerAccessEntity = new EntitySchema<CustomerAccessRow>({
  name: 'CustomerAccess',
  tableName: 'customer_access_log',
  columns: {
    id: { type: 'varchar', length: 36, primary: true },
    customerId: { type: 'varchar', length: 36, name: 'customer_id' },
    viewerId: { type: 'varchar', length: 36, name: 'viewer_id' },
    viewerRole: { type: 'varchar', length: 16, name: 'viewer_role' },
    action: { type: 'varchar', length: 16 },
    taskId: { type: 'varchar', length: 36, nullable: true, name: 'task_id' },
    at: { ...timeColumn() },
  },
  indices: [{ name: 'idx_customer_access_customer', columns: ['customerId', 'at'] }],
});

/** Two profiles found to be one person: everything of `fromId` moved to `intoId`. */
export interface CustomerMergeRow {
  id: string;
  intoId: string;
  fromId: string;
  byId: string;
  /** What moved, for the audit: counts per kind. */
  moved: Record<string, number>;
  at: number;
}

export const CustomerMergeEntity = new EntitySchema<CustomerMergeRow>({
  name: 'CustomerMerge',
  tableName: 'customer_merges',
  columns: {
    id: { type: 'varchar', length: 36, primary: true },
    intoId: { type: 'varchar', length: 36, name: 'into_id' },
    fromId: { type: 'varchar', length: 36, name: 'from_id' },
    byId: { type: 'varchar', length: 36, name: 'by_id' },
    moved: { type: 'text', transformer: { to: (v: unknown) => JSON.stringify(v ?? {}), from: (v: string | null) => (v ? JSON.parse(v) : {}) } },
    at: { ...timeColumn() },
  },
});

/**
 * A one-time code mailed to an email a customer gave: only its hash is kept. Until the code comes back
 * (unused, in time, within the wrong-guess budget) the email is unverified and links nothing.
 */
export interface EmailVerificationRow {
  id: string;
  customerId: string;
  /** Lower case. */
  email: string;
  /** SHA-256 (hex) of the row id and the code. */
  codeHash: string;
  /** Wrong codes tried against this row. */
  attempts: number;
  createdAt: number;
  expiresAt: number;
  /** When the code came back (the email was verified). */
  usedAt: number | null;
}

export const EmailVerificationEntity = new EntitySchema<EmailVerificationRow>({
  name: 'EmailVerification',
  tableName: 'customer_email_verifications',
  columns: {
    id: { type: 'varchar', length: 36, primary: true },
    customerId: { type: 'varchar', length: 36, name: 'customer_id' },
    email: { type: 'varchar', length: 254 },
    codeHash: { type: 'varchar', length: 64, name: 'code_hash' },
    attempts: { type: 'integer', default: 0 },
    createdAt: { ...timeColumn(), name: 'created_at' },
    expiresAt: { ...timeColumn(), name: 'expires_at' },
    usedAt: { ...timeColumn(true), name: 'used_at' },
  },
  indices: [
    { name: 'idx_customer_email_verifications_customer', columns: ['customerId', 'createdAt'] },
    { name: 'idx_customer_email_verifications_email', columns: ['email', 'createdAt'] },
  ],
});

export const CONTEXT_ENTITIES = [CustomerIdentityEntity, CustomerNoteEntity, RatingEntity, CustomerAccessEntity, CustomerMergeEntity, EmailVerificationEntity];
