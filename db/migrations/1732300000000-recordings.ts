// Call recordings: one row per recorded stream (the session's mixed audio, each video feed), and the
// queue policy that asks for them (record or not, how many days to keep).
import { Table, TableColumn, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

const ms = (name: string, isNullable = false) => ({ name, type: 'bigint', isNullable });

export class Recordings1732300000000 implements MigrationInterface {
  name = 'Recordings1732300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumns('queues', [
      new TableColumn({ name: 'record_calls', type: 'boolean', default: false }),
      new TableColumn({ name: 'recording_retention_days', type: 'integer', isNullable: true }),
    ]);
    await q.createTable(
      new Table({
        name: 'recordings',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'task_id', type: 'varchar', length: '36' },
          { name: 'media_session_id', type: 'varchar', length: '64' },
          { name: 'queue_id', type: 'varchar', length: '40' },
          { name: 'kind', type: 'varchar', length: '8' },
          { name: 'feed_id', type: 'varchar', length: '64', isNullable: true },
          { name: 'file_path', type: 'varchar', length: '255', isNullable: true },
          { name: 'mime_type', type: 'varchar', length: '64', isNullable: true },
          ms('bytes', true),
          { name: 'duration_ms', type: 'integer', isNullable: true },
          { name: 'state', type: 'varchar', length: '16' },
          { name: 'failure_reason', type: 'varchar', length: '500', isNullable: true },
          ms('started_at'),
          ms('ended_at'),
          ms('created_at'),
          ms('expires_at'),
        ],
      }),
    );
    await q.createIndex('recordings', new TableIndex({ name: 'idx_recordings_task', columnNames: ['task_id'] }));
    await q.createIndex('recordings', new TableIndex({ name: 'idx_recordings_session', columnNames: ['media_session_id'] }));
    await q.createIndex('recordings', new TableIndex({ name: 'idx_recordings_expiry', columnNames: ['state', 'expires_at'] }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('recordings');
    await q.dropColumn('queues', 'recording_retention_days');
    await q.dropColumn('queues', 'record_calls');
  }
}
