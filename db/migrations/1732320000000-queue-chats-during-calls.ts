// A queue may let agents take its chats while they are on a call; by default a call excludes chats.
import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

export class QueueChatsDuringCalls1732320000000 implements MigrationInterface {
  name = 'QueueChatsDuringCalls1732320000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('queues', new TableColumn({ name: 'chats_during_calls', type: 'boolean', default: false }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('queues', 'chats_during_calls');
  }
}
