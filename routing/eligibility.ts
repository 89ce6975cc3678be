// Who may serve a task: skills at a minimum level, a language, the customer's price budget, and small
// serialisable rules over agent attributes (a queue's rule, and a task's own filter). Pure: no I/O, no
// clock. The router evaluates these on agent profiles; `queuesForAgent` precomputes the queue part into
// AgentAvailability.queues so the queue store can answer "who is ready for queue Q" quickly.
//
// Bad input from an admin (a malformed rule) raises a plain TypeError, as for any misuse.

export type AttributeValue = string | number | boolean;

export interface SkillLevel {
  skill: string;
  level: number;
}

export interface SkillRequirement {
  skill: string;
  /** Inclusive: an agent at exactly this level qualifies. */
  minLevel: number;
}

/** A place, coarsened to a tenth of a degree (about 11 km) before it is stored or compared. */
export interface GeoPoint {
  lat: number;
  lon: number;
}

/** Great-circle distance in km (haversine; the Earth as a sphere is plenty for "near"). */
export function distanceKm(a: GeoPoint, b: GeoPoint): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** To a tenth of a degree: what is kept of a position, so nobody's exact whereabouts are stored. */
export function coarsen(p: GeoPoint): GeoPoint {
  return { lat: Math.round(p.lat * 10) / 10, lon: Math.round(p.lon * 10) / 10 };
}

/** What routing knows about an agent beyond availability (which lives in the queue store). */
export interface AgentProfile {
  id: string;
  skills: SkillLevel[];
  /** BCP 47 tags ('en', 'en-GB', 'de'); compared case-insensitively. */
  languages: string[];
  attributes: Record<string, AttributeValue>;
  /** Average customer rating 1–5, or null when not rated yet. */
  rating: number | null;
  /** The agent's own price in minor units (cents) per minute; null when the agent is not priced per minute. */
  pricePerMinuteMinor: number | null;
  location?: GeoPoint | null;
}

/**
 * A serialisable condition over agent attributes (JSON as stored by the admin API):
 *
 *   { "all": [ { "attr": "region", "in": ["eu", "uk"] }, { "attr": "tenureMonths", "gte": 6 } ] }
 *
 * Leaves: `eq` (strict, no type coercion), `in` (strictly equal to one of), `gte` / `lte` (numbers
 * only; a non-number attribute fails), `exists` (true: the attribute is set; false: it is not).
 * A leaf on a missing attribute is false (except `exists: false`). `all: []` is true, `any: []` false;
 * `not` negates.
 */
export type EligibilityRule =
  | { all: EligibilityRule[] }
  | { any: EligibilityRule[] }
  | { not: EligibilityRule }
  | { attr: string; eq: AttributeValue }
  | { attr: string; in: AttributeValue[] }
  | { attr: string; gte: number }
  | { attr: string; lte: number }
  | { attr: string; exists: boolean };

/** What a task asks of the agent who serves it (after relaxation, see relaxation.ts). */
export interface TaskRequirements {
  /** Every skill is needed, each at least at its level. */
  skills: SkillRequirement[];
  /** The customer's language, or null for any. */
  language: string | null;
  /** Further languages accepted (relaxation `widenLanguage: [...]`). */
  alternativeLanguages?: string[];
  /** Match the primary subtag only, so an 'en-US' agent serves 'en-GB' (relaxation `widenLanguage: true`). */
  languageFamily?: boolean;
  /** The task's own filter over agent attributes (e.g. from the customer's choice in the widget). */
  attributes?: EligibilityRule | null;
  /** Most the customer pays per minute (minor units); agents priced above it are not eligible. */
  budgetPerMinuteMinor?: number | null;
  /** The customer's previous agent; see strategies.ts for how long only they are offered the task. */
  preferredAgentId?: string | null;
  /** The customer's coarse position, shared with consent; queues that prefer nearby agents use it. */
  near?: GeoPoint | null;
}

/** A queue's eligibility definition, from which AgentAvailability.queues is computed. */
export interface QueueEligibility {
  id: string;
  /** Skills every agent of the queue has at least at these levels (empty: none needed). */
  skills?: SkillRequirement[];
  /** The agent speaks at least one of these (empty or absent: any). Same matching as task languages. */
  languages?: string[];
  rule?: EligibilityRule | null;
}

export type IneligibleReason = 'skill' | 'language' | 'budget' | 'queue_rule' | 'task_attributes';

export type EligibilityCheck = { ok: true } | { ok: false; reason: IneligibleReason; detail: string };

// ---- rules -----------------------------------------------------------------------------------

/** Evaluates a rule against an agent's attributes. A null or undefined rule admits everyone. */
export function evaluateRule(rule: EligibilityRule | null | undefined, attributes: Record<string, AttributeValue>): boolean {
  if (rule == null) return true;
  if ('all' in rule) return rule.all.every((r) => evaluateRule(r, attributes));
  if ('any' in rule) return rule.any.some((r) => evaluateRule(r, attributes));
  if ('not' in rule) return !evaluateRule(rule.not, attributes);
  const has = Object.prototype.hasOwnProperty.call(attributes, rule.attr) && attributes[rule.attr] !== undefined;
  if ('exists' in rule) return has === rule.exists;
  if (!has) return false;
  const value = attributes[rule.attr];
  if ('eq' in rule) return value === rule.eq;
  if ('in' in rule) return rule.in.some((v) => v === value);
  if (typeof value !== 'number') return false;
  if ('gte' in rule) return value >= rule.gte;
  return value <= rule.lte;
}

const RULE_MAX_DEPTH = 8;
const RULE_MAX_NODES = 200;
const LEAF_OPS = ['eq', 'in', 'gte', 'lte', 'exists'] as const;

/**
 * Checks an untrusted value (admin API body, database JSON) is a well-formed rule and returns it typed.
 * Throws TypeError naming the path of the first problem. Limits: depth 8, 200 nodes.
 */
export function parseRule(input: unknown): EligibilityRule {
  let nodes = 0;
  const visit = (v: unknown, path: string, depth: number): EligibilityRule => {
    if (++nodes > RULE_MAX_NODES) throw new TypeError(`eligibility rule has more than ${RULE_MAX_NODES} nodes`);
    if (depth > RULE_MAX_DEPTH) throw new TypeError(`${path}: eligibility rule nested deeper than ${RULE_MAX_DEPTH}`);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TypeError(`${path}: expected an object`);
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    for (const combinator of ['all', 'any'] as const) {
      if (combinator in o) {
        if (keys.length !== 1) throw new TypeError(`${path}: '${combinator}' takes no other keys`);
        const list = o[combinator];
        if (!Array.isArray(list)) throw new TypeError(`${path}.${combinator}: expected an array`);
        const children = list.map((c, i) => visit(c, `${path}.${combinator}[${i}]`, depth + 1));
        return combinator === 'all' ? { all: children } : { any: children };
      }
    }
    if ('not' in o) {
      if (keys.length !== 1) throw new TypeError(`${path}: 'not' takes no other keys`);
      return { not: visit(o.not, `${path}.not`, depth + 1) };
    }
    if (typeof o.attr !== 'string' || o.attr === '') throw new TypeError(`${path}.attr: expected a non-empty string`);
    const ops = keys.filter((k) => k !== 'attr');
    const op = ops[0];
    if (ops.length !== 1 || op === undefined || !(LEAF_OPS as readonly string[]).includes(op)) {
      throw new TypeError(`${path}: expected exactly one of ${LEAF_OPS.join(', ')}, all, any, not`);
    }
    const attr = o.attr;
    const arg = o[op];
    switch (op) {
      case 'eq':
        if (!isAttributeValue(arg)) throw new TypeError(`${path}.eq: expected a string, number or boolean`);
        return { attr, eq: arg };
      case 'in':
        if (!Array.isArray(arg) || !arg.every(isAttributeValue)) throw new TypeError(`${path}.in: expected an array of strings, numbers or booleans`);
        return { attr, in: [...arg] };
      case 'gte':
      case 'lte':
        if (typeof arg !== 'number' || !Number.isFinite(arg)) throw new TypeError(`${path}.${op}: expected a finite number`);
        return op === 'gte' ? { attr, gte: arg } : { attr, lte: arg };
      default:
        if (typeof arg !== 'boolean') throw new TypeError(`${path}.exists: expected a boolean`);
        return { attr, exists: arg };
    }
  };
  return visit(input, 'rule', 1);
}

function isAttributeValue(v: unknown): v is AttributeValue {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

// ---- skills, languages, budget ---------------------------------------------------------------------

/** The agent's level in a skill, or null when the agent does not have it (the highest if listed twice). */
export function skillLevel(agent: Pick<AgentProfile, 'skills'>, skill: string): number | null {
  let best: number | null = null;
  for (const s of agent.skills) if (s.skill === skill && (best === null || s.level > best)) best = s.level;
  return best;
}

/** The first required skill the agent lacks or has below its level, or null when all are met. */
export function missingSkill(agent: Pick<AgentProfile, 'skills'>, required: readonly SkillRequirement[]): SkillRequirement | null {
  for (const r of required) {
    const level = skillLevel(agent, r.skill);
    if (level === null || level < r.minLevel) return r;
  }
  return null;
}

function primary(tag: string): string {
  return tag.toLowerCase().split('-')[0] ?? '';
}

/**
 * Whether an agent who speaks `agentLang` serves a customer asking for `wanted`. Case-insensitive.
 * Exact tags match; an agent listing the bare language ('en') serves every variant ('en-GB'); with
 * `family`, any two tags of the same primary language match ('en-US' serves 'en-GB').
 */
export function languageMatches(agentLang: string, wanted: string, family = false): boolean {
  const a = agentLang.toLowerCase();
  const w = wanted.toLowerCase();
  if (a === w) return true;
  if (!a.includes('-') && primary(w) === a) return true;
  return family && primary(a) === primary(w);
}

/** Whether the agent speaks the task's language, or one of its accepted alternatives. */
export function speaksFor(agent: Pick<AgentProfile, 'languages'>, task: Pick<TaskRequirements, 'language' | 'alternativeLanguages' | 'languageFamily'>): boolean {
  if (task.language === null) return true;
  const wanted = [task.language, ...(task.alternativeLanguages ?? [])];
  const family = task.languageFamily === true;
  return agent.languages.some((a) => wanted.some((w) => languageMatches(a, w, family)));
}

/**
 * Whether the agent's price fits the budget. No budget: everyone fits. An agent with no per-minute
 * price (null) fits any budget: they cost the customer nothing per minute beyond the queue's tariff.
 */
export function withinBudget(agent: Pick<AgentProfile, 'pricePerMinuteMinor'>, budgetPerMinuteMinor: number | null | undefined): boolean {
  if (budgetPerMinuteMinor == null || agent.pricePerMinuteMinor === null) return true;
  return agent.pricePerMinuteMinor <= budgetPerMinuteMinor;
}

// ---- the checks the router uses ----------------------------------------------------------------------

/**
 * Everything that decides whether this agent may serve this task, except availability (presence,
 * capacity: the queue store's job) and the preferred-agent window (strategies.ts). `queueRule` is the
 * queue's attribute rule; pass null when the candidates already come from the queue's membership
 * (AgentAvailability.queues was computed with `queuesForAgent`, which applied it).
 */
export function checkEligibility(agent: AgentProfile, task: TaskRequirements, queueRule: EligibilityRule | null | undefined): EligibilityCheck {
  const skill = missingSkill(agent, task.skills);
  if (skill) return { ok: false, reason: 'skill', detail: `needs ${skill.skill} at level ${skill.minLevel}` };
  if (!speaksFor(agent, task)) return { ok: false, reason: 'language', detail: `does not speak ${task.language}` };
  if (!withinBudget(agent, task.budgetPerMinuteMinor)) {
    return { ok: false, reason: 'budget', detail: `costs ${agent.pricePerMinuteMinor} > budget ${task.budgetPerMinuteMinor} per minute` };
  }
  if (!evaluateRule(queueRule, agent.attributes)) return { ok: false, reason: 'queue_rule', detail: "fails the queue's rule" };
  if (!evaluateRule(task.attributes, agent.attributes)) return { ok: false, reason: 'task_attributes', detail: "fails the task's attribute filter" };
  return { ok: true };
}

export function isEligible(agent: AgentProfile, task: TaskRequirements, queueRule: EligibilityRule | null | undefined): boolean {
  return checkEligibility(agent, task, queueRule).ok;
}

/** Whether the agent belongs to the queue: its skills, its languages (any one) and its rule. */
export function servesQueue(agent: AgentProfile, queue: QueueEligibility): boolean {
  if (missingSkill(agent, queue.skills ?? [])) return false;
  const langs = queue.languages ?? [];
  if (langs.length > 0 && !agent.languages.some((a) => langs.some((w) => languageMatches(a, w)))) return false;
  return evaluateRule(queue.rule, agent.attributes);
}

/**
 * The ids of the queues this agent may serve, in the order the queues were given: what goes into
 * AgentAvailability.queues. Recompute when the agent's profile or a queue's definition changes.
 */
export function queuesForAgent(agent: AgentProfile, queues: readonly QueueEligibility[]): string[] {
  return queues.filter((q) => servesQueue(agent, q)).map((q) => q.id);
}
