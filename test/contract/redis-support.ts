// Shared by the Redis store tests: where the test Redis is, and a key prefix no other run uses.
import { randomBytes } from 'node:crypto';

export const REDIS_URL = process.env.MCCS_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** "mccs-test:<random>:" — each run (and each store within it) works under its own keys. */
export function uniquePrefix(): string {
  return `mccs-test:${randomBytes(6).toString('hex')}:`;
}
