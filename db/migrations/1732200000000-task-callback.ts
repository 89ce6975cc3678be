// A waiting customer's callback request: the number to call when their turn comes.
import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

export class TaskCallback1732200000000 implements MigrationInterface {
  name = 'TaskCallback1732200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumns('tasks', [
      new TableColumn({ name: 'callback_number', type: 'varchar', length: '20', isNullable: true }),
      new TableColumn({ name: 'callback_requested_at', type: 'bigint', isNullable: true }),
    ]);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('tasks', 'callback_requested_at');
    await q.dropColumn('tasks', 'callback_number');
  }
}
