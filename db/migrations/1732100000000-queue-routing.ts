// Queue routing configuration (strategy, eligibility, relaxation, opening hours, limits) and the
// task's own requirements. JSON in text columns: portable, and read whole, never queried inside.
import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

const text = (name: string, isNullable = true) => new TableColumn({ name, type: 'text', isNullable });

export class QueueRouting1732100000000 implements MigrationInterface {
  name = 'QueueRouting1732100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumns('queues', [
      new TableColumn({ name: 'strategy', type: 'varchar', length: '32', default: "'longest_idle'" }),
      text('skills'),
      text('languages'),
      text('rule'),
      text('relaxation'),
      text('linear_order'),
      text('weights'),
      new TableColumn({ name: 'ring_all_width', type: 'integer', isNullable: true }),
      new TableColumn({ name: 'preferred_agent_seconds', type: 'integer', default: 0 }),
      new TableColumn({ name: 'max_waiting', type: 'integer', isNullable: true }),
      new TableColumn({ name: 'overflow_queue_id', type: 'varchar', length: '40', isNullable: true }),
      text('business_hours'),
      new TableColumn({ name: 'closed_action', type: 'varchar', length: '16', default: "'wait'" }),
    ]);
    await q.addColumn('tasks', text('requirements'));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('tasks', 'requirements');
    for (const c of ['strategy', 'skills', 'languages', 'rule', 'relaxation', 'linear_order', 'weights', 'ring_all_width', 'preferred_agent_seconds', 'max_waiting', 'overflow_queue_id', 'business_hours', 'closed_action']) {
      await q.dropColumn('queues', c);
    }
  }
}
