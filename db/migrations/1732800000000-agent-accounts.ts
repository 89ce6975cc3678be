// Agent sign-up, verification and policies, and account security (docs/agents.md): new account
// columns, the verification audit trail, documents, password-reset tokens and the sign-in throttle.
import { Table, TableColumn, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

const str = (name: string, length: number, isNullable = false) => ({ name, type: 'varchar', length: String(length), isNullable });
const big = (name: string, isNullable = false) => ({ name, type: 'bigint', isNullable });

export class AgentAccounts1732800000000 implements MigrationInterface {
  name = 'AgentAccounts1732800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumns('accounts', [
      // Accounts that existed before (created by admins) are verified.
      new TableColumn({ name: 'verification', type: 'varchar', length: '16', default: "'verified'" }),
      new TableColumn({ name: 'legal_name', type: 'varchar', length: '120', isNullable: true }),
      new TableColumn({ name: 'bio', type: 'text', isNullable: true }),
      new TableColumn({ name: 'time_zone', type: 'varchar', length: '64', isNullable: true }),
      new TableColumn({ name: 'policies', type: 'text', isNullable: true }),
      new TableColumn({ name: 'token_version', type: 'integer', default: 0 }),
      new TableColumn({ name: 'totp_secret', type: 'varchar', length: '64', isNullable: true }),
      new TableColumn({ name: 'totp_enabled', type: 'boolean', default: false }),
      new TableColumn({ name: 'totp_last_step', type: 'bigint', isNullable: true }),
    ]);
    await q.createTable(
      new Table({
        name: 'agent_verification_events',
        columns: [
          { ...str('id', 36), isPrimary: true },
          str('account_id', 36),
          str('action', 16),
          str('reason', 500),
          str('by_admin', 36),
          big('at'),
        ],
      }),
    );
    await q.createIndex('agent_verification_events', new TableIndex({ name: 'idx_agent_verification_events_account', columnNames: ['account_id', 'at'] }));
    await q.createTable(
      new Table({
        name: 'agent_documents',
        columns: [
          { ...str('id', 36), isPrimary: true },
          str('account_id', 36),
          str('filename', 200),
          str('mime_type', 40),
          { name: 'size_bytes', type: 'integer' },
          str('sha256', 64),
          big('uploaded_at'),
        ],
      }),
    );
    await q.createIndex('agent_documents', new TableIndex({ name: 'idx_agent_documents_account', columnNames: ['account_id'] }));
    await q.createTable(
      new Table({
        name: 'password_reset_tokens',
        columns: [
          { ...str('id', 36), isPrimary: true },
          str('account_id', 36),
          { ...str('token_hash', 64), isUnique: true },
          big('created_at'),
          big('expires_at'),
          big('used_at', true),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'login_attempts',
        columns: [
          { ...str('email', 254), isPrimary: true },
          { name: 'failures', type: 'integer', default: 0 },
          big('window_started_at'),
          big('locked_until', true),
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('login_attempts');
    await q.dropTable('password_reset_tokens');
    await q.dropTable('agent_documents');
    await q.dropTable('agent_verification_events');
    for (const c of ['totp_last_step', 'totp_enabled', 'totp_secret', 'token_version', 'policies', 'time_zone', 'bio', 'legal_name', 'verification']) {
      await q.dropColumn('accounts', c);
    }
  }
}
