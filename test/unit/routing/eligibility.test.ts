// Who may serve a task: the skill, language, budget and attribute checks a supervisor configures, and
// the queue membership computed from them.
import { describe, expect, it } from '@jest/globals';
import {
  checkEligibility,
  evaluateRule,
  isEligible,
  languageMatches,
  parseRule,
  queuesForAgent,
  withinBudget,
  type AgentProfile,
  type EligibilityRule,
  type QueueEligibility,
  type TaskRequirements,
} from '../../../routing/eligibility.js';

function agent(over: Partial<AgentProfile> = {}): AgentProfile {
  return {
    id: 'a1',
    skills: [{ skill: 'billing', level: 3 }],
    languages: ['en'],
    attributes: { region: 'eu', tenureMonths: 12, senior: true },
    rating: 4.5,
    pricePerMinuteMinor: 100,
    ...over,
  };
}

function task(over: Partial<TaskRequirements> = {}): TaskRequirements {
  return { skills: [{ skill: 'billing', minLevel: 2 }], language: 'en', ...over };
}

describe('skills', () => {
  it('admits an agent at or above the minimum level and refuses one below or without the skill', () => {
    expect(isEligible(agent(), task({ skills: [{ skill: 'billing', minLevel: 3 }] }), null)).toBe(true);
    expect(checkEligibility(agent(), task({ skills: [{ skill: 'billing', minLevel: 4 }] }), null)).toEqual({
      ok: false,
      reason: 'skill',
      detail: 'needs billing at level 4',
    });
    expect(isEligible(agent(), task({ skills: [{ skill: 'billing', minLevel: 1 }, { skill: 'spanish_law', minLevel: 1 }] }), null)).toBe(false);
  });

  it('needs every required skill, and no skills means anyone', () => {
    const a = agent({ skills: [{ skill: 'billing', level: 5 }, { skill: 'refunds', level: 1 }] });
    expect(isEligible(a, task({ skills: [{ skill: 'billing', minLevel: 5 }, { skill: 'refunds', minLevel: 1 }] }), null)).toBe(true);
    expect(isEligible(a, task({ skills: [{ skill: 'billing', minLevel: 5 }, { skill: 'refunds', minLevel: 2 }] }), null)).toBe(false);
    expect(isEligible(agent({ skills: [] }), task({ skills: [] }), null)).toBe(true);
  });
});

describe('languages', () => {
  it('matches case-insensitively; a bare language serves its variants, not the other way round', () => {
    expect(languageMatches('EN', 'en')).toBe(true);
    expect(languageMatches('en', 'en-GB')).toBe(true);
    expect(languageMatches('en-GB', 'en')).toBe(false);
    expect(languageMatches('en-US', 'en-GB')).toBe(false);
    expect(languageMatches('en-US', 'en-GB', true)).toBe(true);
    expect(languageMatches('de', 'en', true)).toBe(false);
  });

  it('refuses an agent who does not speak the customer language, unless widened', () => {
    const german = agent({ languages: ['de'] });
    expect(checkEligibility(german, task(), null)).toMatchObject({ ok: false, reason: 'language' });
    expect(isEligible(german, task({ alternativeLanguages: ['de'] }), null)).toBe(true);
    expect(isEligible(agent({ languages: ['en-US'] }), task({ language: 'en-GB' }), null)).toBe(false);
    expect(isEligible(agent({ languages: ['en-US'] }), task({ language: 'en-GB', languageFamily: true }), null)).toBe(true);
    expect(isEligible(german, task({ language: null }), null)).toBe(true);
  });
});

describe('budget', () => {
  it('refuses agents priced above the customer budget; unpriced agents fit any budget', () => {
    expect(checkEligibility(agent({ pricePerMinuteMinor: 150 }), task({ budgetPerMinuteMinor: 120 }), null)).toMatchObject({ ok: false, reason: 'budget' });
    expect(isEligible(agent({ pricePerMinuteMinor: 120 }), task({ budgetPerMinuteMinor: 120 }), null)).toBe(true);
    expect(isEligible(agent({ pricePerMinuteMinor: null }), task({ budgetPerMinuteMinor: 1 }), null)).toBe(true);
    expect(withinBudget({ pricePerMinuteMinor: 10_000 }, null)).toBe(true);
  });
});

describe('attribute rules', () => {
  const attrs = { region: 'eu', tenureMonths: 12, senior: true, level: '5' };

  it('evaluates each leaf operator strictly', () => {
    expect(evaluateRule({ attr: 'region', eq: 'eu' }, attrs)).toBe(true);
    expect(evaluateRule({ attr: 'region', eq: 'us' }, attrs)).toBe(false);
    expect(evaluateRule({ attr: 'level', eq: 5 }, attrs)).toBe(false); // '5' is not 5
    expect(evaluateRule({ attr: 'region', in: ['uk', 'eu'] }, attrs)).toBe(true);
    expect(evaluateRule({ attr: 'tenureMonths', gte: 12 }, attrs)).toBe(true);
    expect(evaluateRule({ attr: 'tenureMonths', gte: 13 }, attrs)).toBe(false);
    expect(evaluateRule({ attr: 'tenureMonths', lte: 12 }, attrs)).toBe(true);
    expect(evaluateRule({ attr: 'level', gte: 1 }, attrs)).toBe(false); // strings never compare as numbers
    expect(evaluateRule({ attr: 'senior', exists: true }, attrs)).toBe(true);
    expect(evaluateRule({ attr: 'trainee', exists: false }, attrs)).toBe(true);
    expect(evaluateRule({ attr: 'trainee', eq: false }, attrs)).toBe(false); // missing is not false
  });

  it('combines with all / any / not', () => {
    const rule: EligibilityRule = {
      all: [{ attr: 'region', in: ['eu', 'uk'] }, { any: [{ attr: 'senior', eq: true }, { attr: 'tenureMonths', gte: 24 }] }, { not: { attr: 'trainee', exists: true } }],
    };
    expect(evaluateRule(rule, attrs)).toBe(true);
    expect(evaluateRule(rule, { ...attrs, senior: false })).toBe(false);
    expect(evaluateRule(rule, { ...attrs, trainee: true })).toBe(false);
    expect(evaluateRule({ all: [] }, {})).toBe(true);
    expect(evaluateRule({ any: [] }, {})).toBe(false);
    expect(evaluateRule(null, {})).toBe(true);
  });

  it("applies the queue rule and the task's own filter, naming which failed", () => {
    const a = agent();
    expect(checkEligibility(a, task(), { attr: 'region', eq: 'us' })).toMatchObject({ ok: false, reason: 'queue_rule' });
    expect(checkEligibility(a, task({ attributes: { attr: 'senior', eq: false } }), null)).toMatchObject({ ok: false, reason: 'task_attributes' });
    expect(checkEligibility(a, task({ attributes: { attr: 'senior', eq: true } }), { attr: 'region', eq: 'eu' })).toEqual({ ok: true });
  });

  it('parses a stored JSON rule and rejects malformed ones with the path of the problem', () => {
    const json = JSON.parse('{"all":[{"attr":"region","in":["eu"]},{"not":{"attr":"trainee","exists":true}}]}');
    expect(parseRule(json)).toEqual(json);
    expect(() => parseRule({ attr: 'x', eq: 1, gte: 2 })).toThrow(TypeError);
    expect(() => parseRule({ all: [{ attr: '', eq: 1 }] })).toThrow('rule.all[0].attr');
    expect(() => parseRule({ any: [{ attr: 'x', gte: 'ten' }] })).toThrow('rule.any[0].gte');
    expect(() => parseRule({ attr: 'x', in: [{}] })).toThrow('rule.in');
    expect(() => parseRule({ attr: 'x', matches: '.*' })).toThrow(TypeError);
    expect(() => parseRule([])).toThrow('expected an object');
    let deep: unknown = { attr: 'x', exists: true };
    for (let i = 0; i < 10; i++) deep = { not: deep };
    expect(() => parseRule(deep)).toThrow('deeper');
  });
});

describe('queue membership (AgentAvailability.queues)', () => {
  const queues: QueueEligibility[] = [
    { id: 'general' },
    { id: 'billing', skills: [{ skill: 'billing', minLevel: 2 }] },
    { id: 'billing-vip', skills: [{ skill: 'billing', minLevel: 4 }] },
    { id: 'german', languages: ['de', 'de-AT'] },
    { id: 'eu-seniors', rule: { all: [{ attr: 'region', eq: 'eu' }, { attr: 'senior', eq: true }] } },
  ];

  it("lists the queues an agent's skills, languages and attributes qualify for, in queue order", () => {
    expect(queuesForAgent(agent(), queues)).toEqual(['general', 'billing', 'eu-seniors']);
    expect(queuesForAgent(agent({ skills: [{ skill: 'billing', level: 5 }], languages: ['en', 'de'], attributes: {} }), queues)).toEqual([
      'general',
      'billing',
      'billing-vip',
      'german',
    ]);
    expect(queuesForAgent(agent({ skills: [], languages: ['fr'], attributes: { region: 'us' } }), queues)).toEqual(['general']);
  });
});
