// Tables of agent onboarding and account security (accounts/, docs/agents.md): the verification audit
// trail, verification documents, password-reset tokens and the per-email sign-in throttle. Same
// conventions as entities.ts: EntitySchema, epoch-ms BIGINT times.
import { EntitySchema } from 'typeorm';
import { timeColumn } from './columns.js';

export type VerificationAction = 'approve' | 'reject' | 'suspend' | 'reinstate';

/** One admin decision about an agent. Append-only: rows are never updated or deleted. */
export interface AgentVerificationEventRow {
  id: string;
  accountId: string;
  action: VerificationAction;
  reason: string;
  byAdmin: string;
  at: number;
}

export const AgentVerificationEventEntity = new EntitySchema<AgentVerificationEventRow>({
  name: 'AgentVerificationEvent',
  tableName: 'agent_verification_events',
  columns: {
    id: { type: 'varchar', length: 36, primary: true },
    accountId: { type: 'varchar', length: 36, name: 'account_id' },
    action: { type: 'varchar', length: 16 },
    reason: { type: 'varchar', length: 500 },
    byAdmin: { type: 'varchar', length: 36, name: 'by_admin' },
    at: timeColumn(),
  },
  indices: [{ name: 'idx_agent_verification_events_account', columns: ['accountId', 'at'] }],
});

/** A document an agent uploaded for verification; the bytes are a file in the data folder. */
export interface AgentDocumentRow {
  id: string;
  accountId: string;
  filename: string;
  mimeType: string;
  sizeBytes: number;
  sha256: string;
  uploadedAt: number;
}

export const AgentDocumentEntity = new EntitySchema<AgentDocumentRow>({
  name: 'AgentDocument',
  tableName: 'agent_documents',
  columns: {
    id: { type: 'varchar', length: 36, primary: true },
    accountId: { type: 'varchar', length: 36, name: 'account_id' },
    filename: { type: 'varchar', length: 200 },
    mimeType: { type: 'varchar', length: 40, name: 'mime_type' },
    sizeBytes: { type: 'integer', name: 'size_bytes' },
    sha256: { type: 'varchar', length: 64 },
    uploadedAt: { ...timeColumn(), name: 'uploaded_at' },
  },
  indices: [{ name: 'idx_agent_documents_account', columns: ['accountId'] }],
});

/** A one-time password-reset link: only the SHA-256 of its token is kept. */
export interface PasswordResetTokenRow {
  id: string;
  accountId: string;
  tokenHash: string;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
}

export const PasswordResetTokenEntity = new EntitySchema<PasswordResetTokenRow>({
  name: 'PasswordResetToken',
  tableName: 'password_reset_tokens',
  columns: {
    id: { type: 'varchar', length: 36, primary: true },
    accountId: { type: 'varchar', length: 36, name: 'account_id' },
    tokenHash: { type: 'varchar', length: 64, unique: true, name: 'token_hash' },
    createdAt: { ...timeColumn(), name: 'created_at' },
    expiresAt: { ...timeColumn(), name: 'expires_at' },
    usedAt: { ...timeColumn(true), name: 'used_at' },
  },
});

/**
 * Failed sign-ins per email, known or not (so a lock-out does not tell whether an account exists).
 * The row goes on a successful sign-in.
 */
export interface LoginAttemptRow {
  email: string;
  failures: number;
  windowStartedAt: number;
  lockedUntil: number | null;
}

export const LoginAttemptEntity = new EntitySchema<LoginAttemptRow>({
  name: 'LoginAttempt',
  tableName: 'login_attempts',
  columns: {
    email: { type: 'varchar', length: 254, primary: true },
    failures: { type: 'integer', default: 0 },
    windowStartedAt: { ...timeColumn(), name: 'window_started_at' },
    lockedUntil: { ...timeColumn(true), name: 'locked_until' },
  },
});

export const ACCOUNT_SECURITY_ENTITIES = [AgentVerificationEventEntity, AgentDocumentEntity, PasswordResetTokenEntity, LoginAttemptEntity];
