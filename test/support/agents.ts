// Helpers for agents who sign up themselves (docs/agents.md), and the databases the tests run on.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { api } from './server.js';
import { createTempDatabase } from './postgres.js';

let seq = 0;

export interface SignedUpAgent {
  id: string;
  email: string;
  password: string;
  token: string;
}

export function signupBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  seq++;
  return {
    email: `expert${seq}-${Date.now()}@example.test`,
    password: 'expert-password-123',
    displayName: `Expert ${seq}`,
    legalName: `Jane Q. Expert ${seq}`,
    skills: [{ skill: 'tax', level: 7 }],
    languages: ['en', 'fr'],
    bio: 'Twenty years of tax returns.',
    timeZone: 'Europe/Paris',
    ...overrides,
  };
}

/** Signs up (pending) and signs in. */
export async function signUpAgent(base: string, overrides: Record<string, unknown> = {}): Promise<SignedUpAgent> {
  const body = signupBody(overrides);
  const created = await api<{ id: string }>(base, 'POST', '/api/agent-signup', body);
  if (created.status !== 201) throw new Error(`sign-up failed: ${JSON.stringify(created.body)}`);
  const login = await api<{ token: string }>(base, 'POST', '/api/auth/login', { email: body.email, password: body.password });
  if (login.status !== 200) throw new Error(`login failed: ${JSON.stringify(login.body)}`);
  return { id: created.body.id, email: body.email as string, password: body.password as string, token: login.body.token };
}

export async function decide(base: string, admin: string, agentId: string, action: string, reason = `${action} in a test`): Promise<void> {
  const res = await api(base, 'POST', `/api/admin/agents/${agentId}/verification`, { action, reason }, admin);
  if (res.status !== 200) throw new Error(`${action} failed: ${res.status} ${JSON.stringify(res.body)}`);
}

/** The databases a DB-heavy test runs on: SQLite always, PostgreSQL unless MCCS_TEST_SKIP_PG is set. */
export const DIALECTS: Array<{ name: string; env(): Promise<{ env: Record<string, string>; cleanup(): Promise<void> }> }> = [
  { name: 'sqlite', env: async () => ({ env: {}, cleanup: async () => undefined }) },
  ...(process.env.MCCS_TEST_SKIP_PG
    ? []
    : [
        {
          name: 'postgres',
          env: async () => {
            const temp = await createTempDatabase();
            return { env: { MCCS_DATABASE_URL: temp.url }, cleanup: () => temp.drop() };
          },
        },
      ]),
];

export const tempDir = (prefix: string) => mkdtempSync(path.join(tmpdir(), prefix));

/** A tiny valid PNG (1×1). */
export const PNG_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
