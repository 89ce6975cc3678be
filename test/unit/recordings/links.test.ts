// Signed playback links: bound to one recording, expiring, and not forgeable without the secret.
import { describe, expect, it } from '@jest/globals';
import winston from 'winston';
import type { Logger } from '../../../lib/logger.js';
import { DomainError } from '../../../lib/errors.js';
import { RecordingService, type RecordingServiceRepos } from '../../../recordings/recording-service.js';

const logger = winston.createLogger({ silent: true }) as unknown as Logger;
const make = (secret = 'a-secret-that-is-long-enough-0123456789') =>
  new RecordingService({} as RecordingServiceRepos, { dir: '/tmp/mccs-rec-unit', defaultRetentionDays: 90, linkSecret: secret, logger, linkTtlSeconds: 300 });
const REC = '5d0c1c1e-6c53-4d86-9b3e-6d1f0b6a1f00';
const AGENT = '0b6f1a55-2a8e-4a53-8d27-1c6a34e0c7aa';
const NOW = 1_795_000_000_000;

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof DomainError ? err.code : 'not a DomainError';
  }
  return undefined;
}

describe('playback links', () => {
  it('verify for the recording they were made for, naming who asked, until they expire', () => {
    const service = make();
    const { token, expiresAt } = service.createLink(REC, AGENT, NOW);
    expect(expiresAt).toBe(Math.floor(NOW / 1000) * 1000 + 300_000);
    expect(service.verifyLink(REC, token, NOW + 299_000)).toEqual({ accountId: AGENT });
    expect(codeOf(() => service.verifyLink(REC, token, NOW + 300_000))).toBe('TOKEN_EXPIRED');
  });

  it('do not open another recording', () => {
    const service = make();
    const { token } = service.createLink(REC, AGENT, NOW);
    expect(codeOf(() => service.verifyLink('another-recording', token, NOW))).toBe('UNAUTHENTICATED');
  });

  it('cannot be altered or made with another secret', () => {
    const service = make();
    const { token } = service.createLink(REC, AGENT, NOW);
    const [exp, account, mac] = token.split('.') as [string, string, string];
    expect(codeOf(() => service.verifyLink(REC, `${Number(exp) + 3600}.${account}.${mac}`, NOW))).toBe('UNAUTHENTICATED');
    expect(codeOf(() => service.verifyLink(REC, `${exp}.someone-else.${mac}`, NOW))).toBe('UNAUTHENTICATED');
    expect(codeOf(() => service.verifyLink(REC, 'garbage', NOW))).toBe('UNAUTHENTICATED');
    const other = make('another-secret-that-is-long-enough-9876');
    expect(codeOf(() => other.verifyLink(REC, token, NOW))).toBe('UNAUTHENTICATED');
  });
});
