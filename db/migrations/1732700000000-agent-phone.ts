// "Ring my phone": an agent may take audio calls on their own number instead of the browser.
import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

export class AgentPhone1732700000000 implements MigrationInterface {
  name = 'AgentPhone1732700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('accounts', new TableColumn({ name: 'phone_number', type: 'varchar', length: '20', isNullable: true }));
    await q.addColumn('accounts', new TableColumn({ name: 'answer_calls_on_phone', type: 'boolean', default: false }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('accounts', 'answer_calls_on_phone');
    await q.dropColumn('accounts', 'phone_number');
  }
}
