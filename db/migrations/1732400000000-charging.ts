// Charging (charging/, docs/charging.md): rate plans, customer wallets, the double-entry ledger with
// its balances, online-charging sessions, call detail records; agents' own price and revenue share.
// Money is BIGINT minor units, times BIGINT epoch ms.
import { Table, TableColumn, TableIndex, TableUnique, type MigrationInterface, type QueryRunner } from 'typeorm';

const str = (name: string, length: number, isNullable = false) => ({ name, type: 'varchar', length: String(length), isNullable });
const big = (name: string, isNullable = false) => ({ name, type: 'bigint', isNullable });
const int = (name: string, isNullable = false) => ({ name, type: 'integer', isNullable });

export class Charging1732400000000 implements MigrationInterface {
  name = 'Charging1732400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('accounts', new TableColumn({ name: 'price_per_minute_minor', type: 'integer', isNullable: true }));
    await q.addColumn('accounts', new TableColumn({ name: 'revenue_share_bps', type: 'integer', isNullable: true }));

    await q.createTable(
      new Table({
        name: 'rate_plans',
        columns: [
          { ...str('id', 36), isPrimary: true },
          str('queue_id', 40),
          str('channel', 16),
          str('currency', 3),
          big('per_minute_minor'),
          big('session_fee_minor'),
          int('free_seconds'),
          int('first_increment_seconds'),
          int('next_increment_seconds'),
          big('agent_price_min_minor', true),
          big('agent_price_max_minor', true),
          int('revenue_share_bps'),
          int('tax_bps'),
          { name: 'active', type: 'boolean', default: true },
          big('created_at'),
          big('updated_at'),
        ],
      }),
    );
    await q.createUniqueConstraint('rate_plans', new TableUnique({ name: 'uq_rate_plans_queue_channel', columnNames: ['queue_id', 'channel'] }));

    await q.createTable(
      new Table({
        name: 'customer_wallets',
        columns: [
          { ...str('customer_id', 64), isPrimary: true },
          str('currency', 3),
          str('kind', 16),
          big('credit_limit_minor'),
          big('reserved_minor'),
          big('created_at'),
          big('updated_at'),
        ],
      }),
    );

    await q.createTable(
      new Table({
        name: 'ledger_transactions',
        columns: [
          { ...str('id', 36), isPrimary: true },
          str('idempotency_key', 160),
          str('kind', 16),
          str('currency', 3),
          str('memo', 300, true),
          str('reversal_of', 36, true),
          str('session_id', 64, true),
          big('created_at'),
        ],
      }),
    );
    await q.createIndex('ledger_transactions', new TableIndex({ name: 'uq_ledger_transactions_key', columnNames: ['idempotency_key'], isUnique: true }));
    // NULLs do not collide, so only actual reversals are limited to one per transaction.
    await q.createIndex('ledger_transactions', new TableIndex({ name: 'uq_ledger_transactions_reversal', columnNames: ['reversal_of'], isUnique: true }));
    await q.createIndex('ledger_transactions', new TableIndex({ name: 'idx_ledger_transactions_session', columnNames: ['session_id'] }));

    await q.createTable(
      new Table({
        name: 'ledger_postings',
        columns: [{ ...str('id', 36), isPrimary: true }, str('transaction_id', 36), str('account', 100), big('amount_minor'), str('currency', 3), big('created_at')],
      }),
    );
    await q.createIndex('ledger_postings', new TableIndex({ name: 'idx_ledger_postings_transaction', columnNames: ['transaction_id'] }));
    await q.createIndex('ledger_postings', new TableIndex({ name: 'idx_ledger_postings_account', columnNames: ['account', 'currency', 'created_at'] }));

    await q.createTable(
      new Table({
        name: 'ledger_balances',
        columns: [{ ...str('account', 100), isPrimary: true }, { ...str('currency', 3), isPrimary: true }, big('balance_minor'), big('updated_at')],
      }),
    );

    await q.createTable(
      new Table({
        name: 'charging_sessions',
        columns: [
          { ...str('id', 64), isPrimary: true },
          str('task_id', 36),
          str('customer_id', 64),
          str('agent_id', 36),
          str('queue_id', 40),
          str('channel', 16),
          str('currency', 3),
          { name: 'tariff', type: 'text' },
          int('share_bps'),
          str('state', 16),
          big('reserved_minor'),
          big('granted_seconds'),
          big('bridged_ms'),
          big('started_at'),
          big('updated_at'),
          big('settled_at', true),
          big('billed_seconds', true),
          big('amount_minor', true),
          big('agent_minor', true),
          big('platform_minor', true),
          big('tax_minor', true),
          str('charge_transaction_id', 36, true),
          str('end_reason', 32, true),
        ],
      }),
    );
    await q.createIndex('charging_sessions', new TableIndex({ name: 'idx_charging_sessions_state', columnNames: ['state'] }));
    await q.createIndex('charging_sessions', new TableIndex({ name: 'idx_charging_sessions_task', columnNames: ['task_id'] }));
    await q.createIndex('charging_sessions', new TableIndex({ name: 'idx_charging_sessions_agent', columnNames: ['agent_id', 'settled_at'] }));
    await q.createIndex('charging_sessions', new TableIndex({ name: 'idx_charging_sessions_settled', columnNames: ['settled_at'] }));

    await q.createTable(
      new Table({
        name: 'call_detail_records',
        columns: [
          { ...str('id', 36), isPrimary: true },
          str('session_id', 64),
          str('task_id', 36),
          int('attempt'),
          str('channel', 16),
          str('queue_id', 40),
          { name: 'skills', type: 'text' },
          str('customer_id', 64),
          str('agent_id', 36, true),
          str('trunk_id', 64, true),
          big('enqueued_at'),
          big('offered_at', true),
          big('answered_at', true),
          big('ended_at', true),
          big('wait_ms'),
          big('handle_ms'),
          str('termination_reason', 32),
          { name: 'tariff', type: 'text', isNullable: true },
          big('billed_seconds'),
          big('amount_minor'),
          str('currency', 3, true),
          str('charged_party', 100, true),
          str('rating_status', 16),
          big('created_at'),
        ],
      }),
    );
    await q.createUniqueConstraint('call_detail_records', new TableUnique({ name: 'uq_cdr_session_attempt', columnNames: ['session_id', 'attempt'] }));
    await q.createIndex('call_detail_records', new TableIndex({ name: 'idx_cdr_created', columnNames: ['created_at', 'id'] }));
    await q.createIndex('call_detail_records', new TableIndex({ name: 'idx_cdr_agent', columnNames: ['agent_id', 'created_at'] }));
    await q.createIndex('call_detail_records', new TableIndex({ name: 'idx_cdr_queue', columnNames: ['queue_id', 'created_at'] }));
    await q.createIndex('call_detail_records', new TableIndex({ name: 'idx_cdr_customer', columnNames: ['customer_id', 'created_at'] }));
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['call_detail_records', 'charging_sessions', 'ledger_balances', 'ledger_postings', 'ledger_transactions', 'customer_wallets', 'rate_plans']) {
      await q.dropTable(table);
    }
    await q.dropColumn('accounts', 'revenue_share_bps');
    await q.dropColumn('accounts', 'price_per_minute_minor');
  }
}
