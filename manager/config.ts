// The separate Manager process's configuration: environment variables (MCCS_MANAGER_*), optionally a
// JSON file (MCCS_MANAGER_CONFIG_FILE) with the same fields; the environment wins. Validated once at
// start; a bad value stops the process naming the variable. Tokens never appear in a message.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

const Server = Type.Object({ url: Type.String({ pattern: '^https?://[^\\s|]+$' }), token: Type.String({ minLength: 1 }) }, { additionalProperties: false });

export const ManagerConfigSchema = Type.Object({
  servers: Type.Array(Server, { minItems: 1, maxItems: 100 }),
  managerId: Type.String({ minLength: 1, maxLength: 100 }),
  host: Type.String({ minLength: 1 }),
  port: Type.Integer({ minimum: 0, maximum: 65535 }),
  /** How WebSub hubs reach the listener; empty: http://<host>:<port>. */
  publicUrl: Type.String({ pattern: '^(https?://\\S+)?$' }),
  refreshSeconds: Type.Integer({ minimum: 1, maximum: 86_400 }),
  outcomesSeconds: Type.Integer({ minimum: 1, maximum: 86_400 }),
  /** File keeping the outcomes cursor of each server; empty: kept in memory only. */
  stateFile: Type.String(),
  log: Type.Object({
    level: Type.Union(['error', 'warn', 'info', 'http', 'verbose', 'debug'].map((l) => Type.Literal(l))),
    format: Type.Union([Type.Literal('auto'), Type.Literal('json'), Type.Literal('pretty')]),
  }),
});
export type ManagerProcessConfig = Static<typeof ManagerConfigSchema>;

export class ManagerConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid Manager configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ManagerConfigError';
  }
}

const VARIABLES: Record<string, { path: keyof ManagerProcessConfig | 'log.level' | 'log.format'; int?: boolean }> = {
  MCCS_MANAGER_ID: { path: 'managerId' },
  MCCS_MANAGER_HOST: { path: 'host' },
  MCCS_MANAGER_PORT: { path: 'port', int: true },
  MCCS_MANAGER_PUBLIC_URL: { path: 'publicUrl' },
  MCCS_MANAGER_REFRESH_SECONDS: { path: 'refreshSeconds', int: true },
  MCCS_MANAGER_OUTCOMES_SECONDS: { path: 'outcomesSeconds', int: true },
  MCCS_MANAGER_STATE_FILE: { path: 'stateFile' },
  MCCS_LOG_LEVEL: { path: 'log.level' },
  MCCS_LOG_FORMAT: { path: 'log.format' },
};

/** `url|token,url|token` → servers. */
function parseServers(raw: string, problems: string[]): Array<{ url: string; token: string }> {
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
    .flatMap((item, i) => {
      const bar = item.indexOf('|');
      if (bar < 0) {
        problems.push(`MCCS_MANAGER_SERVERS: item ${i + 1} is not "url|token"`);
        return [];
      }
      return [{ url: item.slice(0, bar).trim(), token: item.slice(bar + 1).trim() }];
    });
}

export function loadManagerConfig(env: Record<string, string | undefined> = process.env): ManagerProcessConfig {
  const problems: string[] = [];
  let fromFile: Record<string, unknown> = {};
  if (env.MCCS_MANAGER_CONFIG_FILE) {
    try {
      fromFile = JSON.parse(readFileSync(env.MCCS_MANAGER_CONFIG_FILE, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      problems.push(`MCCS_MANAGER_CONFIG_FILE: cannot read ${env.MCCS_MANAGER_CONFIG_FILE}: ${(err as Error).message}`);
    }
  }
  const config: Record<string, unknown> = {
    managerId: os.hostname(),
    host: '0.0.0.0',
    port: 8090,
    publicUrl: '',
    refreshSeconds: 60,
    outcomesSeconds: 10,
    stateFile: '',
    ...fromFile,
    log: { level: 'info', format: 'auto', ...(fromFile.log as object | undefined) },
  };
  if (env.MCCS_MANAGER_SERVERS) config.servers = parseServers(env.MCCS_MANAGER_SERVERS, problems);
  for (const [name, v] of Object.entries(VARIABLES)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    if (v.int && !/^\d+$/.test(raw.trim())) {
      problems.push(`${name}: expected a whole number, got "${raw}"`);
      continue;
    }
    const value = v.int ? Number(raw) : raw;
    if (v.path.startsWith('log.')) (config.log as Record<string, unknown>)[v.path.slice(4)] = value;
    else config[v.path] = value;
  }
  if (config.servers === undefined) problems.push('MCCS_MANAGER_SERVERS: required ("url|token,..."), or "servers" in MCCS_MANAGER_CONFIG_FILE');
  else {
    for (const error of Value.Errors(ManagerConfigSchema, config)) {
      const name = Object.entries(VARIABLES).find(([, v]) => `/${v.path.replace('.', '/')}` === error.path)?.[0];
      const secret = error.path.endsWith('/token');
      problems.push(`${name ?? (error.path.startsWith('/servers') ? 'MCCS_MANAGER_SERVERS' + error.path.slice(8) : error.path)}: ${error.message}${secret ? '' : ` (got ${JSON.stringify(error.value)})`}`);
    }
  }
  if (problems.length) throw new ManagerConfigError(problems);
  return config as ManagerProcessConfig;
}
