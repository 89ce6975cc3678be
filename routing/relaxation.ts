// Relaxation: as a task waits, its queue's steps widen who may serve it — lower skill levels, more
// queues' agents, more languages. Pure: the caller passes how long the task has waited (or `now`), and
// schedules a new match at nextRelaxationAt(). Steps are cumulative: every step whose time has come
// applies, in the order of their times.
import type { SkillRequirement, TaskRequirements } from './eligibility.js';

export interface RelaxationStep {
  /** Seconds after the task joined the queue (inclusive: at exactly this wait the step applies). */
  afterSeconds: number;
  /** Lowers every required skill's minimum level by this much (not below 0; the skill stays required). */
  lowerSkillLevelBy?: number;
  /** Agents of these queues may now serve the task too (the task stays in its own queue). */
  addQueues?: string[];
  /** true: any variant of the customer's language (en-US serves en-GB); a list: these languages too. */
  widenLanguage?: boolean | string[];
}

export interface RelaxableTask {
  /** The queue the task waits in. */
  queueId: string;
  /** When it joined the queue (epoch ms). */
  enqueuedAt: number;
  /** What the task asks before any relaxation. */
  requirements: TaskRequirements;
}

export interface EffectiveRequirements {
  requirements: TaskRequirements;
  /** The task's own queue first, then added queues in the order the steps added them; no duplicates. */
  queues: string[];
  /** How many steps applied (0: none yet). */
  appliedSteps: number;
}

/** Steps in the order they apply (by afterSeconds; equal times keep their given order). */
function sorted(steps: readonly RelaxationStep[]): RelaxationStep[] {
  return steps.map((s, i) => ({ s, i })).sort((a, b) => a.s.afterSeconds - b.s.afterSeconds || a.i - b.i).map((x) => x.s);
}

/** The task's requirements after every step whose time has passed (waitedMs ≥ afterSeconds × 1000). */
export function effectiveRequirements(task: RelaxableTask, steps: readonly RelaxationStep[], waitedMs: number): EffectiveRequirements {
  const base = task.requirements;
  let lowerBy = 0;
  const queues = [task.queueId];
  const alternatives = [...(base.alternativeLanguages ?? [])];
  let family = base.languageFamily === true;
  let applied = 0;
  for (const step of sorted(steps)) {
    if (waitedMs < step.afterSeconds * 1000) break;
    applied++;
    lowerBy += step.lowerSkillLevelBy ?? 0;
    for (const q of step.addQueues ?? []) if (!queues.includes(q)) queues.push(q);
    if (step.widenLanguage === true) family = true;
    else if (Array.isArray(step.widenLanguage)) {
      for (const l of step.widenLanguage) if (!alternatives.some((a) => a.toLowerCase() === l.toLowerCase())) alternatives.push(l);
    }
  }
  const skills: SkillRequirement[] = base.skills.map((s) => ({ skill: s.skill, minLevel: Math.max(0, s.minLevel - lowerBy) }));
  const requirements: TaskRequirements = { ...base, skills };
  if (base.language !== null) {
    if (alternatives.length > 0) requirements.alternativeLanguages = alternatives;
    if (family) requirements.languageFamily = true;
  }
  return { requirements, queues, appliedSteps: applied };
}

/**
 * When the next step not yet applied will apply (epoch ms), or null when all have (or there are none):
 * the router schedules a new match for the task then.
 */
export function nextRelaxationAt(task: Pick<RelaxableTask, 'enqueuedAt'>, steps: readonly RelaxationStep[], now: number): number | null {
  const waited = now - task.enqueuedAt;
  for (const step of sorted(steps)) {
    if (waited < step.afterSeconds * 1000) return task.enqueuedAt + step.afterSeconds * 1000;
  }
  return null;
}

/**
 * Checks an untrusted list of steps (admin API, database JSON) and returns it typed. Throws TypeError
 * naming the first problem: a step needs a non-negative afterSeconds and at least one relaxation.
 */
export function parseRelaxationSteps(input: unknown): RelaxationStep[] {
  if (!Array.isArray(input)) throw new TypeError('relaxation steps: expected an array');
  return input.map((raw, i): RelaxationStep => {
    const at = `relaxation[${i}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new TypeError(`${at}: expected an object`);
    const o = raw as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (!['afterSeconds', 'lowerSkillLevelBy', 'addQueues', 'widenLanguage'].includes(k)) throw new TypeError(`${at}.${k}: unknown field`);
    }
    if (typeof o.afterSeconds !== 'number' || !Number.isFinite(o.afterSeconds) || o.afterSeconds < 0) {
      throw new TypeError(`${at}.afterSeconds: expected a number ≥ 0`);
    }
    const step: RelaxationStep = { afterSeconds: o.afterSeconds };
    if (o.lowerSkillLevelBy !== undefined) {
      if (typeof o.lowerSkillLevelBy !== 'number' || !Number.isFinite(o.lowerSkillLevelBy) || o.lowerSkillLevelBy <= 0) {
        throw new TypeError(`${at}.lowerSkillLevelBy: expected a number > 0`);
      }
      step.lowerSkillLevelBy = o.lowerSkillLevelBy;
    }
    if (o.addQueues !== undefined) {
      if (!Array.isArray(o.addQueues) || !o.addQueues.every((q) => typeof q === 'string' && q !== '')) {
        throw new TypeError(`${at}.addQueues: expected an array of queue ids`);
      }
      step.addQueues = [...(o.addQueues as string[])];
    }
    if (o.widenLanguage !== undefined) {
      const w = o.widenLanguage;
      if (typeof w === 'boolean') step.widenLanguage = w;
      else if (Array.isArray(w) && w.every((l) => typeof l === 'string' && l !== '')) step.widenLanguage = [...(w as string[])];
      else throw new TypeError(`${at}.widenLanguage: expected true/false or an array of language tags`);
    }
    if (step.lowerSkillLevelBy === undefined && !step.addQueues?.length && (step.widenLanguage === undefined || step.widenLanguage === false || (Array.isArray(step.widenLanguage) && step.widenLanguage.length === 0))) {
      throw new TypeError(`${at}: relaxes nothing (give lowerSkillLevelBy, addQueues or widenLanguage)`);
    }
    return step;
  });
}
