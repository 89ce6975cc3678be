// Email identities (docs/context.md): a customer's email links profiles only once they prove it is
// theirs with a one-time code, kept here as a hash until used; and the language the customer's
// browser prefers, for the agent's information.
import { Table, TableColumn, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

const str = (name: string, length: number, isNullable = false) => ({ name, type: 'varchar', length: String(length), isNullable });
const big = (name: string, isNullable = false) => ({ name, type: 'bigint', isNullable });

export class EmailIdentities1733400000000 implements MigrationInterface {
  name = 'EmailIdentities1733400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'customer_email_verifications',
        columns: [
          { ...str('id', 36), isPrimary: true },
          str('customer_id', 36),
          str('email', 254),
          str('code_hash', 64),
          { name: 'attempts', type: 'integer', default: 0 },
          big('created_at'),
          big('expires_at'),
          big('used_at', true),
        ],
      }),
    );
    await q.createIndex('customer_email_verifications', new TableIndex({ name: 'idx_customer_email_verifications_customer', columnNames: ['customer_id', 'created_at'] }));
    await q.createIndex('customer_email_verifications', new TableIndex({ name: 'idx_customer_email_verifications_email', columnNames: ['email', 'created_at'] }));
    await q.addColumn('customers', new TableColumn({ name: 'language', type: 'varchar', length: '35', isNullable: true }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('customers', 'language');
    await q.dropTable('customer_email_verifications');
  }
}
