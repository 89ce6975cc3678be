// Canned responses (canned/): replies agents reuse in chats. Shared ones belong to no one (admins
// manage them, optionally for one queue); personal ones belong to the agent who wrote them. Same
// conventions as entities.ts: EntitySchema, epoch-ms BIGINT times.
import { EntitySchema } from 'typeorm';
import { timeColumn } from './columns.js';

export interface CannedResponseRow {
  id: string;
  /** The agent whose own response this is; null: shared (managed by admins). */
  ownerId: string | null;
  /** Shared ones only: offered in this queue's conversations only; null: in every queue. */
  queueId: string | null;
  title: string;
  /** Typed after "/" in the message box to pick the response; null: picked from the list only. */
  shortcut: string | null;
  body: string;
  createdAt: number;
  updatedAt: number;
}

export const CannedResponseEntity = new EntitySchema<CannedResponseRow>({
  name: 'CannedResponse',
  tableName: 'canned_responses',
  columns: {
    id: { type: 'varchar', length: 36, primary: true },
    ownerId: { type: 'varchar', length: 36, nullable: true, name: 'owner_id' },
    queueId: { type: 'varchar', length: 40, nullable: true, name: 'queue_id' },
    title: { type: 'varchar', length: 80 },
    shortcut: { type: 'varchar', length: 32, nullable: true },
    body: { type: 'text' },
    createdAt: { ...timeColumn(), name: 'created_at' },
    updatedAt: { ...timeColumn(), name: 'updated_at' },
  },
  indices: [{ name: 'idx_canned_responses_owner', columns: ['ownerId'] }],
});

export const CANNED_ENTITIES = [CannedResponseEntity];
