// The first schema. Written with TypeORM's Table API, not SQL, so one migration serves SQLite and PostgreSQL.
import { Table, TableIndex, TableUnique, type MigrationInterface, type QueryRunner } from 'typeorm';

const id = (name = 'id') => ({ name, type: 'varchar', length: '36', isPrimary: name === 'id' });
const ms = (name: string, isNullable = false) => ({ name, type: 'bigint', isNullable });

export class Initial1732000000000 implements MigrationInterface {
  name = 'Initial1732000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'accounts',
        columns: [
          id(),
          { name: 'email', type: 'varchar', length: '254', isUnique: true },
          { name: 'display_name', type: 'varchar', length: '80' },
          { name: 'role', type: 'varchar', length: '16' },
          { name: 'password_hash', type: 'varchar', length: '255' },
          { name: 'must_change_password', type: 'boolean', default: false },
          { name: 'skills', type: 'text' },
          { name: 'languages', type: 'text' },
          { name: 'chat_capacity', type: 'integer' },
          ms('created_at'),
          ms('updated_at'),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'queues',
        columns: [
          { name: 'id', type: 'varchar', length: '40', isPrimary: true },
          { name: 'name', type: 'varchar', length: '80' },
          { name: 'description', type: 'varchar', length: '300', default: "''" },
          { name: 'required_skill', type: 'varchar', length: '40', isNullable: true },
          ms('created_at'),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'customers',
        columns: [id(), { name: 'display_name', type: 'varchar', length: '80', isNullable: true }, ms('created_at')],
      }),
    );
    await q.createTable(
      new Table({
        name: 'tasks',
        columns: [
          id(),
          { name: 'channel', type: 'varchar', length: '16' },
          { name: 'queue_id', type: 'varchar', length: '40' },
          { name: 'customer_id', type: 'varchar', length: '36' },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'priority', type: 'integer', default: 0 },
          { name: 'first_message', type: 'text' },
          { name: 'agent_id', type: 'varchar', length: '36', isNullable: true },
          ms('enqueued_at'),
          ms('offered_at', true),
          ms('accepted_at', true),
          ms('ended_at', true),
          { name: 'end_reason', type: 'varchar', length: '24', isNullable: true },
          { name: 'wrap_up_code', type: 'varchar', length: '40', isNullable: true },
          { name: 'wrap_up_notes', type: 'text', isNullable: true },
          ms('completed_at', true),
        ],
      }),
    );
    await q.createIndex('tasks', new TableIndex({ name: 'idx_tasks_status', columnNames: ['status'] }));
    await q.createIndex('tasks', new TableIndex({ name: 'idx_tasks_customer', columnNames: ['customer_id'] }));
    await q.createIndex('tasks', new TableIndex({ name: 'idx_tasks_agent', columnNames: ['agent_id'] }));
    await q.createTable(
      new Table({
        name: 'messages',
        columns: [
          id(),
          { name: 'task_id', type: 'varchar', length: '36' },
          { name: 'sender', type: 'varchar', length: '16' },
          { name: 'sender_id', type: 'varchar', length: '36', isNullable: true },
          { name: 'sender_name', type: 'varchar', length: '80' },
          { name: 'body', type: 'text' },
          { name: 'client_msg_id', type: 'varchar', length: '64', isNullable: true },
          ms('created_at'),
        ],
      }),
    );
    await q.createIndex('messages', new TableIndex({ name: 'idx_messages_task', columnNames: ['task_id', 'created_at'] }));
    await q.createUniqueConstraint(
      'messages',
      new TableUnique({ name: 'uq_messages_client_msg', columnNames: ['task_id', 'client_msg_id'] }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['messages', 'tasks', 'customers', 'queues', 'accounts']) await q.dropTable(table);
  }
}
