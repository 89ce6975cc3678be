// Canned responses (canned/, docs/agents.md): shared replies admins manage (optionally per queue) and
// each agent's own. Also the time a call spends on hold (media_sessions.held_at / held_ms), which
// came with the same piece of work (the agent's softphone hold and chat replies).
import { Table, TableColumn, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

export class CannedResponses1733200000000 implements MigrationInterface {
  name = 'CannedResponses1733200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'canned_responses',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'owner_id', type: 'varchar', length: '36', isNullable: true },
          { name: 'queue_id', type: 'varchar', length: '40', isNullable: true },
          { name: 'title', type: 'varchar', length: '80' },
          { name: 'shortcut', type: 'varchar', length: '32', isNullable: true },
          { name: 'body', type: 'text' },
          { name: 'created_at', type: 'bigint' },
          { name: 'updated_at', type: 'bigint' },
        ],
      }),
    );
    await q.createIndex('canned_responses', new TableIndex({ name: 'idx_canned_responses_owner', columnNames: ['owner_id'] }));
    await q.addColumn('media_sessions', new TableColumn({ name: 'held_at', type: 'bigint', isNullable: true }));
    await q.addColumn('media_sessions', new TableColumn({ name: 'held_ms', type: 'bigint', default: 0 }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('media_sessions', 'held_ms');
    await q.dropColumn('media_sessions', 'held_at');
    await q.dropTable('canned_responses');
  }
}
