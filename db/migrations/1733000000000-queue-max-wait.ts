// A queue's maximum wait: after it a task is escalated or moved to the overflow queue (routing/wait-escalation.ts).
import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

export class QueueMaxWait1733000000000 implements MigrationInterface {
  name = 'QueueMaxWait1733000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('queues', new TableColumn({ name: 'max_wait_seconds', type: 'integer', isNullable: true }));
    await q.addColumn('queues', new TableColumn({ name: 'max_wait_action', type: 'varchar', length: '16', default: "'escalate'" }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('queues', 'max_wait_action');
    await q.dropColumn('queues', 'max_wait_seconds');
  }
}
