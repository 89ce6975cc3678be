// SIP trunks added in the admin console (sip-bridge/trunk-directory.ts, docs/configuration.md "SIP
// trunks"). Trunks from MCCS_SIP_TRUNKS_FILE are not stored: they stay in their file. Same
// conventions as entities.ts: EntitySchema, epoch-ms BIGINT times.
import { EntitySchema } from 'typeorm';
import { jsonText, timeColumn } from './columns.js';

/**
 * One trunk. `settings` holds the trunk as written in a trunks file, without its id (allow list,
 * credentials, limits, target, register, keepAlive, rtpRelay, queueId, menu, menuPrompt, callbacks),
 * except that `auth` and `register` hold `passwordSealed` (encrypted and bound to the trunk and field,
 * lib/secret-box.ts) instead of `password`: the table never holds a password in clear. Rows stored in
 * clear before that are sealed at the next start (sip-bridge/trunk-directory.ts sealClearPasswords).
 * Passwords are secrets: never logged, never sent back.
 */
export interface SipTrunkRow {
  id: string;
  settings: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
  /** The admin who made the last change. */
  updatedBy: string;
}

export const SipTrunkEntity = new EntitySchema<SipTrunkRow>({
  name: 'SipTrunk',
  tableName: 'sip_trunks',
  columns: {
    id: { type: 'varchar', length: 40, primary: true },
    settings: { type: 'text', transformer: jsonText<Record<string, unknown>>({}) },
    createdAt: { ...timeColumn(), name: 'created_at' },
    updatedAt: { ...timeColumn(), name: 'updated_at' },
    updatedBy: { type: 'varchar', length: 36, name: 'updated_by' },
  },
});

export const SIP_ENTITIES = [SipTrunkEntity];
