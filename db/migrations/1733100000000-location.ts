// Location (docs/context.md): a customer's position shared with consent and an agent's, both kept
// coarse (tenths of a degree, as integers); a queue may prefer agents near the customer.
import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

export class Location1733100000000 implements MigrationInterface {
  name = 'Location1733100000000';

  async up(q: QueryRunner): Promise<void> {
    for (const table of ['customers', 'accounts']) {
      await q.addColumn(table, new TableColumn({ name: 'location_lat10', type: 'integer', isNullable: true }));
      await q.addColumn(table, new TableColumn({ name: 'location_lon10', type: 'integer', isNullable: true }));
    }
    await q.addColumn('queues', new TableColumn({ name: 'prefer_nearby', type: 'boolean', default: false }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('queues', 'prefer_nearby');
    for (const table of ['accounts', 'customers']) {
      await q.dropColumn(table, 'location_lon10');
      await q.dropColumn(table, 'location_lat10');
    }
  }
}
