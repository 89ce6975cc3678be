// Calls on tasks: one row per media session (room on a media node), so a call never stays open
// without a record and every server process can find the node that holds it.
import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

export class MediaSessions1732310000000 implements MigrationInterface {
  name = 'MediaSessions1732310000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'media_sessions',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'task_id', type: 'varchar', length: '36' },
          { name: 'video', type: 'boolean', default: false },
          { name: 'node_id', type: 'varchar', length: '200' },
          { name: 'state', type: 'varchar', length: '16' },
          { name: 'recording', type: 'boolean', default: false },
          { name: 'started_by', type: 'varchar', length: '16' },
          { name: 'started_at', type: 'bigint' },
          { name: 'bridged_at', type: 'bigint', isNullable: true },
          { name: 'ended_at', type: 'bigint', isNullable: true },
          { name: 'end_reason', type: 'varchar', length: '32', isNullable: true },
        ],
      }),
    );
    await q.createIndex('media_sessions', new TableIndex({ name: 'idx_media_sessions_task', columnNames: ['task_id'] }));
    await q.createIndex('media_sessions', new TableIndex({ name: 'idx_media_sessions_state', columnNames: ['state'] }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('media_sessions');
  }
}
