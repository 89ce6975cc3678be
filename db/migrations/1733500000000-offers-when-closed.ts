// "Get offers when the app is closed": an agent who turns it on stays ready, reachable by Web Push,
// when the app's connection drops (docs/push.md).
import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

export class OffersWhenClosed1733500000000 implements MigrationInterface {
  name = 'OffersWhenClosed1733500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('accounts', new TableColumn({ name: 'offers_when_closed', type: 'boolean', default: false }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('accounts', 'offers_when_closed');
  }
}
