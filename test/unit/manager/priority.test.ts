// The priority formula and the policy choice it drives.
import { describe, expect, it } from '@jest/globals';
import { taskPriority } from '../../../manager/priority.js';
import { Triage } from '../../../manager/triage.js';
import type { PolicyConfig } from '../../../protocol/manager.js';
import { HourlyLimit } from '../../../manager/rate-limit.js';

const NOW = Date.UTC(2026, 2, 3, 12);

describe('taskPriority', () => {
  it('adds negativity and reach to the base, within 0–100', () => {
    expect(taskPriority(10, 0, undefined)).toBe(10);
    expect(taskPriority(10, 0.8, 0)).toBe(10);
    expect(taskPriority(10, -1, undefined)).toBe(25);
    expect(taskPriority(10, -4, undefined)).toBe(40);
    expect(taskPriority(10, 0, 999)).toBe(25);
    expect(taskPriority(10, 0, 10_000_000)).toBe(40);
    expect(taskPriority(90, -5, 1e9)).toBe(100);
  });
});

describe('HourlyLimit', () => {
  it('allows `limit` per rolling hour and counts the rest', () => {
    const limit = new HourlyLimit(2);
    expect([limit.take(0), limit.take(1000), limit.take(2000)]).toEqual([true, true, false]);
    expect(limit.take(3_600_001)).toBe(true);
    expect(limit.dropped).toBe(1);
  });
});

const policy = (over: Partial<PolicyConfig>): PolicyConfig => ({ id: 'p', name: 'p', sourceIds: [], queueId: 'social', query: 'battery', languages: [], basePriority: 10, ...over });
const post = (over: Partial<Parameters<Triage['judge']>[0]> = {}) => ({
  sourceId: 's1',
  externalId: String(Math.random()),
  text: 'My battery caught fire on the kitchen table last night, this is terrible and dangerous, and support does not answer',
  author: { handle: '@sam', reach: 5000 },
  publishedAt: NOW - 60_000,
  ...over,
});

describe('Triage', () => {
  it('picks the matching policy giving the highest priority', () => {
    const triage = new Triage();
    triage.setPolicies([policy({ id: 'low', queueId: 'q-low', basePriority: 5 }), policy({ id: 'high', queueId: 'q-high', basePriority: 50 }), policy({ id: 'other', query: 'laptop', basePriority: 90 })]);
    const verdict = triage.judge(post(), NOW);
    expect(verdict.kind).toBe('submit');
    if (verdict.kind !== 'submit') return;
    expect(verdict.submission).toMatchObject({ policyId: 'high', queueId: 'q-high', post: { matchedTerms: ['battery'], language: 'en' } });
    expect(verdict.submission.post.sentiment.comparative).toBeLessThan(0);
    expect(verdict.submission.priority).toBe(taskPriority(50, verdict.submission.post.sentiment.comparative, 5000));
  });

  it('applies language, sentiment, reach, window and source filters', () => {
    const triage = new Triage();
    const judge = (p: Partial<PolicyConfig>, over = {}) => {
      triage.setPolicies([policy(p)]);
      return triage.judge(post(over), NOW).kind;
    };
    expect(judge({ languages: ['fr'] })).toBe('drop');
    expect(judge({ languages: ['en'] })).toBe('submit');
    expect(judge({ maxSentiment: -5 })).toBe('drop');
    expect(judge({ minReach: 10_000 })).toBe('drop');
    expect(judge({ windowHours: 1 }, { publishedAt: NOW - 2 * 3_600_000 })).toBe('drop');
    expect(judge({ sourceIds: ['s2'] })).toBe('drop');
  });

  it('drops repeats, copies and posts over the hourly limit, with the reason', () => {
    const triage = new Triage();
    expect(triage.setPolicies([policy({ maxTasksPerHour: 2 }), policy({ id: 'bad', query: '(battery' })])).toEqual([{ policyId: 'bad', message: 'missing ) at character 9' }]);
    const reasons = (p: ReturnType<typeof post>) => {
      const v = triage.judge(p, NOW);
      return v.kind === 'drop' ? v.reason : 'submit';
    };
    const first = post({ externalId: 'x1', url: 'https://example.com/1' });
    expect(reasons(first)).toBe('submit');
    expect(reasons(first)).toBe('duplicate_id');
    expect(reasons(post({ url: 'https://example.com/1?utm_source=feed', text: 'another battery story, nothing alike at all here' }))).toBe('duplicate_url');
    expect(reasons(post({ text: 'RT My battery caught fire on the kitchen table last night, this is terrible and dangerous, and support does not answer' }))).toBe('near_duplicate');
    expect(reasons(post({ text: 'no relevant words in this one' }))).toBe('no_policy');
    expect(reasons(post({ text: 'Second battery story: the charger melted the cable in the night' }))).toBe('submit');
    expect(reasons(post({ text: 'Third battery story, about a drone that fell out of the sky over the lake' }))).toBe('rate_limited');
  });
});
