// Web Push subscriptions (push/, docs/push.md): where a browser's push service takes messages for one
// agent's device. Same conventions as entities.ts: EntitySchema, epoch-ms BIGINT times.
import { EntitySchema } from 'typeorm';
import { timeColumn } from './columns.js';

/** One browser's subscription (RFC 8030 endpoint, RFC 8291 keys). The endpoint and keys are secrets: never logged. */
export interface PushSubscriptionRow {
  id: string;
  accountId: string;
  endpoint: string;
  /** The browser's P-256 public key, base64url: payloads are encrypted to it. */
  p256dh: string;
  /** The browser's 16-byte authentication secret, base64url. */
  auth: string;
  userAgent: string | null;
  createdAt: number;
  lastSuccessAt: number | null;
  /** Failed sends since the last success. */
  failures: number;
}

export const PushSubscriptionEntity = new EntitySchema<PushSubscriptionRow>({
  name: 'PushSubscription',
  tableName: 'push_subscriptions',
  columns: {
    id: { type: 'varchar', length: 36, primary: true },
    accountId: { type: 'varchar', length: 36, name: 'account_id' },
    endpoint: { type: 'varchar', length: 2048, unique: true },
    p256dh: { type: 'varchar', length: 128 },
    auth: { type: 'varchar', length: 64 },
    userAgent: { type: 'varchar', length: 200, nullable: true, name: 'user_agent' },
    createdAt: { ...timeColumn(), name: 'created_at' },
    lastSuccessAt: { ...timeColumn(true), name: 'last_success_at' },
    failures: { type: 'integer', default: 0 },
  },
  indices: [{ name: 'idx_push_subscriptions_account', columns: ['accountId'] }],
});

export const PUSH_ENTITIES = [PushSubscriptionEntity];
