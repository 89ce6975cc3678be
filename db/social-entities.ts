// The server's side of the Manager (social/, docs/manager.md): service credentials, the sources and
// policies admins configure for Managers, and the posts that became tasks with their outcome. Same
// conventions as entities.ts: EntitySchema, epoch-ms BIGINT times, JSON kept as text.
import { EntitySchema } from 'typeorm';
import { timeColumn, jsonText } from './columns.js';
import type { PolicyConfig, PostOutcome, SocialPost, SourceConfig, SourceState } from '../protocol/manager.js';

/** A machine's credential (a Manager): only a hash of the token is kept. */
export interface ServiceTokenRow {
  id: string;
  name: string;
  tokenHash: string;
  createdBy: string;
  createdAt: number;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

export const ServiceTokenEntity = new EntitySchema<ServiceTokenRow>({
  name: 'ServiceToken',
  tableName: 'service_tokens',
  columns: {
    id: { type: 'varchar', length: 36, primary: true },
    name: { type: 'varchar', length: 100 },
    tokenHash: { type: 'varchar', length: 64, name: 'token_hash', unique: true },
    createdBy: { type: 'varchar', length: 36, name: 'created_by' },
    createdAt: { ...timeColumn(), name: 'created_at' },
    revokedAt: { ...timeColumn(true), name: 'revoked_at' },
    lastUsedAt: { ...timeColumn(true), name: 'last_used_at' },
  },
});

/** A source as the admin configured it (secrets included: Managers need them), and what Managers report of it. */
export interface SocialSourceRow {
  id: string;
  config: SourceConfig;
  state: SourceState | 'new';
  reason: string | null;
  lastFetchAt: number | null;
  nextFetchAt: number | null;
  itemsSeen: number | null;
  statusAt: number | null;
  createdAt: number;
  updatedAt: number;
}

export const SocialSourceEntity = new EntitySchema<SocialSourceRow>({
  name: 'SocialSource',
  tableName: 'social_sources',
  columns: {
    id: { type: 'varchar', length: 64, primary: true },
    config: { type: 'text', transformer: jsonText<SourceConfig | null>(null) },
    state: { type: 'varchar', length: 16 },
    reason: { type: 'varchar', length: 500, nullable: true },
    lastFetchAt: { ...timeColumn(true), name: 'last_fetch_at' },
    nextFetchAt: { ...timeColumn(true), name: 'next_fetch_at' },
    itemsSeen: { type: 'integer', nullable: true, name: 'items_seen' },
    statusAt: { ...timeColumn(true), name: 'status_at' },
    createdAt: { ...timeColumn(), name: 'created_at' },
    updatedAt: { ...timeColumn(), name: 'updated_at' },
  },
});

export interface SocialPolicyRow {
  id: string;
  config: PolicyConfig;
  createdAt: number;
  updatedAt: number;
}

export const SocialPolicyEntity = new EntitySchema<SocialPolicyRow>({
  name: 'SocialPolicy',
  tableName: 'social_policies',
  columns: {
    id: { type: 'varchar', length: 64, primary: true },
    config: { type: 'text', transformer: jsonText<PolicyConfig | null>(null) },
    createdAt: { ...timeColumn(), name: 'created_at' },
    updatedAt: { ...timeColumn(), name: 'updated_at' },
  },
});

/** A post that became a task; its outcome once an agent handled it. */
export interface SocialPostRow {
  taskId: string;
  sourceId: string;
  externalId: string;
  managerId: string;
  policyId: string;
  post: SocialPost;
  /** The reply the agent drafted or recorded (what was posted back at the source). */
  reply: string | null;
  outcome: PostOutcome['outcome'] | null;
  handledBy: string | null;
  handledAt: number | null;
  /** Order of handled posts, for the Managers' outcome cursor. */
  outcomeSeq: number | null;
  createdAt: number;
}

export const SocialPostEntity = new EntitySchema<SocialPostRow>({
  name: 'SocialPost',
  tableName: 'social_posts',
  columns: {
    taskId: { type: 'varchar', length: 36, primary: true, name: 'task_id' },
    sourceId: { type: 'varchar', length: 64, name: 'source_id' },
    externalId: { type: 'varchar', length: 1024, name: 'external_id' },
    managerId: { type: 'varchar', length: 100, name: 'manager_id' },
    policyId: { type: 'varchar', length: 64, name: 'policy_id' },
    post: { type: 'text', transformer: jsonText<SocialPost | null>(null) },
    reply: { type: 'text', nullable: true },
    outcome: { type: 'varchar', length: 16, nullable: true },
    handledBy: { type: 'varchar', length: 36, nullable: true, name: 'handled_by' },
    handledAt: { ...timeColumn(true), name: 'handled_at' },
    outcomeSeq: { ...timeColumn(true), name: 'outcome_seq' },
    createdAt: { ...timeColumn(), name: 'created_at' },
  },
  uniques: [{ name: 'uq_social_posts_source_external', columns: ['sourceId', 'externalId'] }],
  indices: [{ name: 'idx_social_posts_outcome_seq', columns: ['outcomeSeq'] }],
});

export const SOCIAL_ENTITIES = [ServiceTokenEntity, SocialSourceEntity, SocialPolicyEntity, SocialPostEntity];
