// The queues (topics) customers choose from: stored in the database with their routing
// configuration, mirrored into the routing engine, and consulted when a task asks to join.
import { IsNull, Not, type Repository } from 'typeorm';
import type { QueueRow } from '../db/entities.js';
import { DomainError } from '../lib/errors.js';
import type { RoutingEngine, RoutingQueue } from './engine.js';
import { parseRule, type EligibilityRule } from './eligibility.js';
import { parseRelaxationSteps, type RelaxationStep } from './relaxation.js';
import { isStrategyName, type StrategyName } from './strategies.js';
import { isOpen, parseBusinessHours, type BusinessHours } from './business-hours.js';
import type { AdmissionRules, ClosedAction } from './admission.js';
import type { MaxWaitRule } from './wait-escalation.js';

export interface QueueSummary {
  id: string;
  name: string;
  description: string;
  requiredSkill: string | null;
  waiting: number;
  /** Within opening hours now (always true without opening hours). */
  open: boolean;
  /** Its calls are recorded (the customer is told before a call). */
  recordCalls: boolean;
}

/** Everything an admin can set on a queue; each field optional on update. */
export interface QueueSettings {
  name: string;
  description: string;
  requiredSkill: string | null;
  strategy: StrategyName;
  skills: Array<{ skill: string; minLevel: number }>;
  languages: string[];
  rule: EligibilityRule | null;
  relaxation: RelaxationStep[];
  linearOrder: string[];
  weights: Record<string, number>;
  ringAllWidth: number | null;
  preferredAgentSeconds: number;
  maxWaiting: number | null;
  overflowQueueId: string | null;
  businessHours: BusinessHours | null;
  closedAction: ClosedAction;
  /** Agents on a call may still be offered this queue's chats (default: a call excludes chats). */
  chatsDuringCalls: boolean;
  recordCalls: boolean;
  /** null: the configured default retention (MCCS_RECORDING_RETENTION_DAYS). */
  recordingRetentionDays: number | null;
  /** Agents see customers' phone numbers and emails unmasked (context/). */
  revealContact: boolean;
  /** Agents see the customer's sessions with other agents (context/). */
  shareHistory: boolean;
  /** Longest a task should wait, s (null: no limit); then it is escalated or moved to the overflow queue. */
  maxWaitSeconds: number | null;
  maxWaitAction: 'escalate' | 'overflow';
  /** Agents near the customer first, when the customer shared their position. */
  preferNearby: boolean;
}

export type QueueConfig = QueueSettings & { id: string; createdAt: number; waiting: number; open: boolean };

/** Topics a fresh installation starts with, so the widget has something to offer. */
export const DEFAULT_QUEUES: Array<Pick<QueueRow, 'id' | 'name' | 'description'>> = [
  { id: 'general', name: 'General questions', description: 'Anything else: we find the right person' },
  { id: 'billing', name: 'Billing and payments', description: 'Invoices, charges, refunds' },
  { id: 'technical', name: 'Technical help', description: 'Set-up, errors, how-to' },
];

const DEFAULT_SETTINGS: Omit<QueueSettings, 'name'> = {
  description: '',
  requiredSkill: null,
  strategy: 'longest_idle',
  skills: [],
  languages: [],
  rule: null,
  relaxation: [],
  linearOrder: [],
  weights: {},
  ringAllWidth: null,
  preferredAgentSeconds: 0,
  maxWaiting: null,
  overflowQueueId: null,
  businessHours: null,
  closedAction: 'wait',
  chatsDuringCalls: false,
  recordCalls: false,
  recordingRetentionDays: null,
  revealContact: false,
  shareHistory: false,
  maxWaitSeconds: null,
  maxWaitAction: 'escalate',
  preferNearby: false,
};

/** Turns parser TypeErrors into the VALIDATION answer an admin sees. */
function checked<T>(field: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new DomainError('VALIDATION', `${field}: ${(err as Error).message}`);
  }
}

export class QueueDirectory {
  constructor(
    private readonly queues: Repository<QueueRow>,
    private readonly engine: RoutingEngine,
  ) {}

  async seedDefaults(): Promise<void> {
    if ((await this.queues.count()) > 0) return;
    const now = Date.now();
    try {
      await this.queues.insert(DEFAULT_QUEUES.map((q) => this.#row(q.id, { ...DEFAULT_SETTINGS, ...q }, now)));
    } catch (err) {
      // Another node starting at the same moment seeded them first.
      if ((await this.queues.count()) === 0) throw err;
    }
  }

  /** Gives the engine every queue's routing configuration (at start). */
  async loadIntoEngine(): Promise<void> {
    for (const row of await this.queues.find()) await this.engine.setQueue(routingQueueOf(row));
  }

  async list(now = Date.now()): Promise<QueueSummary[]> {
    const rows = await this.queues.find({ order: { createdAt: 'ASC', id: 'ASC' } });
    return Promise.all(
      rows.map(async (q) => ({
        id: q.id,
        name: q.name,
        description: q.description,
        requiredSkill: q.requiredSkill,
        waiting: await this.engine.waitingCount(q.id),
        open: isOpen(q.businessHours as BusinessHours | null, now),
        recordCalls: q.recordCalls,
      })),
    );
  }

  /** Queues with a maximum wait, for the escalation check (no waiting counts: it runs every few seconds). */
  async maxWaitRules(): Promise<MaxWaitRule[]> {
    const rows = await this.queues.find({ where: { maxWaitSeconds: Not(IsNull()) } });
    return rows.map((r) => ({ queueId: r.id, maxWaitSeconds: r.maxWaitSeconds!, action: r.maxWaitAction ?? 'escalate', overflowQueueId: r.overflowQueueId }));
  }

  async listConfigs(now = Date.now()): Promise<QueueConfig[]> {
    const rows = await this.queues.find({ order: { createdAt: 'ASC', id: 'ASC' } });
    return Promise.all(rows.map((r) => this.#config(r, now)));
  }

  async create(input: { id: string; name: string } & Partial<QueueSettings>): Promise<QueueConfig> {
    if (await this.queues.existsBy({ id: input.id })) throw new DomainError('CONFLICT', `queue ${input.id} exists`);
    const settings = await this.#validate({ ...DEFAULT_SETTINGS, ...input }, input.id);
    const row = this.#row(input.id, settings, Date.now());
    await this.queues.insert(row);
    await this.engine.setQueue(routingQueueOf(row));
    return this.#config(row);
  }

  async update(id: string, patch: Partial<QueueSettings>): Promise<QueueConfig> {
    const current = await this.queues.findOneBy({ id });
    if (!current) throw new DomainError('NOT_FOUND', `queue ${id} not found`);
    const settings = await this.#validate({ ...settingsOf(current), ...patch }, id);
    const row = this.#row(id, settings, current.createdAt);
    await this.queues.save(row);
    await this.engine.setQueue(routingQueueOf(row));
    return this.#config(row);
  }

  async admissionRules(id: string): Promise<AdmissionRules | null> {
    const row = await this.queues.findOneBy({ id });
    if (!row) return null;
    return {
      id: row.id,
      name: row.name,
      businessHours: row.businessHours as BusinessHours | null,
      closedAction: row.closedAction,
      maxWaiting: row.maxWaiting,
      overflowQueueId: row.overflowQueueId,
    };
  }

  /** Semantic checks the HTTP schema cannot make: rules, steps, hours, references to other queues. */
  async #validate(s: QueueSettings, id: string): Promise<QueueSettings> {
    if (!isStrategyName(s.strategy)) throw new DomainError('VALIDATION', `strategy: unknown strategy "${String(s.strategy)}"`);
    const rule = s.rule === null ? null : checked('rule', () => parseRule(s.rule));
    const relaxation = checked('relaxation', () => parseRelaxationSteps(s.relaxation));
    const businessHours = s.businessHours === null ? null : checked('businessHours', () => parseBusinessHours(s.businessHours));
    const referenced = [...relaxation.flatMap((r) => r.addQueues ?? []), ...(s.overflowQueueId ? [s.overflowQueueId] : [])];
    for (const other of referenced) {
      if (other === id) throw new DomainError('VALIDATION', `a queue cannot overflow or relax into itself (${id})`);
      if (!(await this.queues.existsBy({ id: other }))) throw new DomainError('VALIDATION', `queue ${other} does not exist`);
    }
    if (s.closedAction === 'overflow' && !s.overflowQueueId) {
      throw new DomainError('VALIDATION', 'closedAction "overflow" needs an overflowQueueId');
    }
    if (typeof s.chatsDuringCalls !== 'boolean') throw new DomainError('VALIDATION', 'chatsDuringCalls: expected true or false');
    if (typeof s.recordCalls !== 'boolean') throw new DomainError('VALIDATION', 'recordCalls: expected true or false');
    if (typeof s.revealContact !== 'boolean') throw new DomainError('VALIDATION', 'revealContact: expected true or false');
    if (typeof s.shareHistory !== 'boolean') throw new DomainError('VALIDATION', 'shareHistory: expected true or false');
    if (s.maxWaitSeconds !== null && !(Number.isInteger(s.maxWaitSeconds) && s.maxWaitSeconds >= 5 && s.maxWaitSeconds <= 86_400)) {
      throw new DomainError('VALIDATION', 'maxWaitSeconds: expected whole seconds from 5 to 86400, or null for no limit');
    }
    if (typeof s.preferNearby !== 'boolean') throw new DomainError('VALIDATION', 'preferNearby: expected true or false');
    if (s.maxWaitAction === 'overflow' && s.maxWaitSeconds !== null && !s.overflowQueueId) {
      throw new DomainError('VALIDATION', 'maxWaitAction "overflow" needs an overflowQueueId');
    }
    const days = s.recordingRetentionDays;
    if (days !== null && !(Number.isInteger(days) && days >= 1 && days <= 36_500)) {
      throw new DomainError('VALIDATION', 'recordingRetentionDays: expected a whole number of days from 1 to 36500, or null for the default');
    }
    return { ...s, rule, relaxation, businessHours };
  }

  #row(id: string, s: QueueSettings, createdAt: number): QueueRow {
    return {
      id,
      name: s.name,
      description: s.description,
      requiredSkill: s.requiredSkill,
      createdAt,
      strategy: s.strategy,
      skills: s.skills,
      languages: s.languages,
      rule: s.rule,
      relaxation: s.relaxation as object[],
      linearOrder: s.linearOrder,
      weights: s.weights,
      ringAllWidth: s.ringAllWidth,
      preferredAgentSeconds: s.preferredAgentSeconds,
      maxWaiting: s.maxWaiting,
      overflowQueueId: s.overflowQueueId,
      businessHours: s.businessHours,
      closedAction: s.closedAction,
      chatsDuringCalls: s.chatsDuringCalls,
      recordCalls: s.recordCalls,
      recordingRetentionDays: s.recordingRetentionDays,
      revealContact: s.revealContact,
      shareHistory: s.shareHistory,
      maxWaitSeconds: s.maxWaitSeconds,
      maxWaitAction: s.maxWaitAction,
      preferNearby: s.preferNearby,
    };
  }

  async #config(row: QueueRow, now = Date.now()): Promise<QueueConfig> {
    return {
      id: row.id,
      createdAt: row.createdAt,
      ...settingsOf(row),
      waiting: await this.engine.waitingCount(row.id),
      open: isOpen(row.businessHours as BusinessHours | null, now),
    };
  }
}

function settingsOf(row: QueueRow): QueueSettings {
  return {
    name: row.name,
    description: row.description,
    requiredSkill: row.requiredSkill,
    strategy: isStrategyName(row.strategy) ? row.strategy : 'longest_idle',
    skills: row.skills,
    languages: row.languages,
    rule: row.rule as EligibilityRule | null,
    relaxation: row.relaxation as RelaxationStep[],
    linearOrder: row.linearOrder,
    weights: row.weights,
    ringAllWidth: row.ringAllWidth,
    preferredAgentSeconds: row.preferredAgentSeconds,
    maxWaiting: row.maxWaiting,
    overflowQueueId: row.overflowQueueId,
    businessHours: row.businessHours as BusinessHours | null,
    closedAction: row.closedAction,
    chatsDuringCalls: row.chatsDuringCalls ?? false,
    recordCalls: row.recordCalls ?? false,
    recordingRetentionDays: row.recordingRetentionDays ?? null,
    revealContact: row.revealContact ?? false,
    shareHistory: row.shareHistory ?? false,
    maxWaitSeconds: row.maxWaitSeconds ?? null,
    maxWaitAction: row.maxWaitAction ?? 'escalate',
    preferNearby: row.preferNearby ?? false,
  };
}

export function routingQueueOf(row: QueueRow): RoutingQueue {
  const s = settingsOf(row);
  return {
    id: row.id,
    requiredSkill: s.requiredSkill,
    skills: s.skills,
    languages: s.languages,
    rule: s.rule,
    strategy: s.strategy,
    relaxation: s.relaxation,
    ringAllWidth: s.ringAllWidth ?? undefined,
    linearOrder: s.linearOrder,
    weights: s.weights,
    preferredAgentSeconds: s.preferredAgentSeconds,
    chatsDuringCalls: s.chatsDuringCalls,
    preferNearby: s.preferNearby,
  };
}
