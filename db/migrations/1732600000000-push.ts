// Web Push (push/, docs/push.md): agents' browser subscriptions, so offers reach a backgrounded app.
import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

const str = (name: string, length: number, isNullable = false) => ({ name, type: 'varchar', length: String(length), isNullable });
const big = (name: string, isNullable = false) => ({ name, type: 'bigint', isNullable });

export class Push1732600000000 implements MigrationInterface {
  name = 'Push1732600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'push_subscriptions',
        columns: [
          { ...str('id', 36), isPrimary: true },
          str('account_id', 36),
          { ...str('endpoint', 2048), isUnique: true },
          str('p256dh', 128),
          str('auth', 64),
          str('user_agent', 200, true),
          big('created_at'),
          big('last_success_at', true),
          { name: 'failures', type: 'integer', default: 0 },
        ],
      }),
    );
    await q.createIndex('push_subscriptions', new TableIndex({ name: 'idx_push_subscriptions_account', columnNames: ['account_id'] }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('push_subscriptions');
  }
}
