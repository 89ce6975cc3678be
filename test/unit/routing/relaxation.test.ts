// As a task waits, its queue's relaxation steps widen who may serve it; the router learns when to look
// again. Checked against eligibility, as the router will use them.
import { describe, expect, it } from '@jest/globals';
import { isEligible, type AgentProfile, type TaskRequirements } from '../../../routing/eligibility.js';
import {
  effectiveRequirements,
  nextRelaxationAt,
  parseRelaxationSteps,
  type RelaxableTask,
  type RelaxationStep,
} from '../../../routing/relaxation.js';

const T0 = 1_700_000_000_000;

const REQ: TaskRequirements = {
  skills: [
    { skill: 'billing', minLevel: 4 },
    { skill: 'refunds', minLevel: 1 },
  ],
  language: 'en-GB',
  budgetPerMinuteMinor: 200,
};
const TASK: RelaxableTask = { queueId: 'billing-vip', enqueuedAt: T0, requirements: REQ };

const STEPS: RelaxationStep[] = [
  { afterSeconds: 120, addQueues: ['general'], widenLanguage: ['de'] },
  { afterSeconds: 30, lowerSkillLevelBy: 1 },
  { afterSeconds: 60, lowerSkillLevelBy: 2, addQueues: ['billing'], widenLanguage: true },
];

const agentWith = (level: number, languages = ['en-GB']): AgentProfile => ({
  id: 'a',
  skills: [
    { skill: 'billing', level },
    { skill: 'refunds', level: 1 },
  ],
  languages,
  attributes: {},
  rating: null,
  pricePerMinuteMinor: null,
});

describe('effectiveRequirements', () => {
  it('asks the full requirements before the first step', () => {
    const r = effectiveRequirements(TASK, STEPS, 29_999);
    expect(r).toEqual({ requirements: REQ, queues: ['billing-vip'], appliedSteps: 0 });
    expect(isEligible(agentWith(3), r.requirements, null)).toBe(false);
  });

  it('after 30 s lowers the skill level by one: a level-3 agent now qualifies', () => {
    const r = effectiveRequirements(TASK, STEPS, 30_000);
    expect(r.appliedSteps).toBe(1);
    expect(r.requirements.skills).toEqual([
      { skill: 'billing', minLevel: 3 },
      { skill: 'refunds', minLevel: 0 },
    ]);
    expect(isEligible(agentWith(3), r.requirements, null)).toBe(true);
    expect(isEligible(agentWith(2), r.requirements, null)).toBe(false);
  });

  it('steps add up; a skill never drops below 0 and stays required', () => {
    const r = effectiveRequirements(TASK, STEPS, 60_000);
    expect(r.requirements.skills).toEqual([
      { skill: 'billing', minLevel: 1 },
      { skill: 'refunds', minLevel: 0 },
    ]);
    const noRefunds: AgentProfile = { ...agentWith(5), skills: [{ skill: 'billing', level: 5 }] };
    expect(isEligible(noRefunds, r.requirements, null)).toBe(false);
  });

  it('adds queues in step order, own queue first, and widens the language', () => {
    const at60 = effectiveRequirements(TASK, STEPS, 60_000);
    expect(at60.queues).toEqual(['billing-vip', 'billing']);
    expect(isEligible(agentWith(5, ['en-US']), at60.requirements, null)).toBe(true);
    expect(isEligible(agentWith(5, ['de']), at60.requirements, null)).toBe(false);

    const at120 = effectiveRequirements(TASK, STEPS, 125_000);
    expect(at120.queues).toEqual(['billing-vip', 'billing', 'general']);
    expect(at120.requirements.alternativeLanguages).toEqual(['de']);
    expect(isEligible(agentWith(5, ['de']), at120.requirements, null)).toBe(true);
    expect(at120.appliedSteps).toBe(3);
  });

  it('keeps everything else the task asked for (budget, preferred agent) and does not change the input', () => {
    const task: RelaxableTask = { ...TASK, requirements: { ...REQ, preferredAgentId: 'prev' } };
    const r = effectiveRequirements(task, STEPS, 1_000_000);
    expect(r.requirements.budgetPerMinuteMinor).toBe(200);
    expect(r.requirements.preferredAgentId).toBe('prev');
    expect(task.requirements.skills[0]!.minLevel).toBe(4);
    expect(task.requirements.alternativeLanguages).toBeUndefined();
  });

  it('does not add language options to a task with no language, nor duplicate queues', () => {
    const r = effectiveRequirements(
      { queueId: 'q', enqueuedAt: T0, requirements: { skills: [], language: null } },
      [{ afterSeconds: 0, addQueues: ['q', 'r', 'r'], widenLanguage: true }],
      0,
    );
    expect(r.queues).toEqual(['q', 'r']);
    expect(r.requirements).toEqual({ skills: [], language: null });
  });
});

describe('nextRelaxationAt', () => {
  it('tells the router when to look again, and null once every step has applied', () => {
    expect(nextRelaxationAt(TASK, STEPS, T0)).toBe(T0 + 30_000);
    expect(nextRelaxationAt(TASK, STEPS, T0 + 30_000)).toBe(T0 + 60_000);
    expect(nextRelaxationAt(TASK, STEPS, T0 + 90_000)).toBe(T0 + 120_000);
    expect(nextRelaxationAt(TASK, STEPS, T0 + 120_000)).toBeNull();
    expect(nextRelaxationAt(TASK, [], T0)).toBeNull();
  });
});

describe('parseRelaxationSteps', () => {
  it('accepts stored JSON steps', () => {
    const json = JSON.parse(JSON.stringify(STEPS));
    expect(parseRelaxationSteps(json)).toEqual(STEPS);
  });

  it('rejects steps that are malformed or relax nothing, naming the step', () => {
    expect(() => parseRelaxationSteps({})).toThrow(TypeError);
    expect(() => parseRelaxationSteps([{ afterSeconds: -1, lowerSkillLevelBy: 1 }])).toThrow('relaxation[0].afterSeconds');
    expect(() => parseRelaxationSteps([{ afterSeconds: 10, addQueues: ['x'] }, { afterSeconds: 20 }])).toThrow('relaxation[1]: relaxes nothing');
    expect(() => parseRelaxationSteps([{ afterSeconds: 10, lowerSkillLevelBy: 0 }])).toThrow('lowerSkillLevelBy');
    expect(() => parseRelaxationSteps([{ afterSeconds: 10, addQueues: 'general' }])).toThrow('addQueues');
    expect(() => parseRelaxationSteps([{ afterSeconds: 10, widenLanguage: 'de' }])).toThrow('widenLanguage');
    expect(() => parseRelaxationSteps([{ afterSeconds: 10, widenLanguage: true, dropSkills: true }])).toThrow('unknown field');
  });
});
