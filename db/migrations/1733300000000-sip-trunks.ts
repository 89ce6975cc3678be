// SIP trunks managed in the admin console (db/sip-entities.ts): stored next to the read-only ones of
// MCCS_SIP_TRUNKS_FILE and applied to the running SIP bridge.
import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';

export class SipTrunks1733300000000 implements MigrationInterface {
  name = 'SipTrunks1733300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'sip_trunks',
        columns: [
          { name: 'id', type: 'varchar', length: '40', isPrimary: true },
          { name: 'settings', type: 'text' },
          { name: 'created_at', type: 'bigint' },
          { name: 'updated_at', type: 'bigint' },
          { name: 'updated_by', type: 'varchar', length: '36' },
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('sip_trunks');
  }
}
