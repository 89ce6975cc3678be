// The agent's own phone: the number and whether audio calls ring it instead of the browser.
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { DomainError } from '../../lib/errors.js';
import { PhoneNumber } from '../../protocol/events.js';
import type { AgentPhoneDirectory } from '../../calls/agent-phones.js';
import type { TokenService } from '../auth/tokens.js';
import { requireStaff } from './guards.js';

const AgentPhoneBody = Type.Object(
  { phoneNumber: Type.Union([Type.Null(), PhoneNumber]), answerCallsOnPhone: Type.Boolean() },
  { additionalProperties: false },
);
const AgentPhoneView = Type.Object({ phoneNumber: Type.Union([Type.Null(), Type.String()]), answerCallsOnPhone: Type.Boolean(), available: Type.Boolean() });

export function registerAgentPhoneRoutes(app: FastifyInstance, deps: { tokens: TokenService; phones: AgentPhoneDirectory }): void {
  const agent = requireStaff(deps.tokens, ['agent', 'supervisor']);
  const security = [{ bearer: [] }];
  app.get(
    '/api/agent/phone',
    { preHandler: agent, schema: { summary: "The agent's own number and whether calls ring it", tags: ['agent'], security, response: { 200: AgentPhoneView } } },
    async (req) => deps.phones.settings(req.staff!.accountId),
  );
  app.put<{ Body: Static<typeof AgentPhoneBody> }>(
    '/api/agent/phone',
    { preHandler: agent, schema: { summary: 'Set the own number (E.164) and whether audio calls ring it', tags: ['agent'], security, body: AgentPhoneBody, response: { 200: AgentPhoneView } } },
    async (req) => {
      if (req.body.answerCallsOnPhone && !req.body.phoneNumber) throw new DomainError('VALIDATION', 'give the number calls should ring');
      if (req.body.answerCallsOnPhone && !deps.phones.available) throw new DomainError('INVALID_STATE', 'calls cannot ring phones here: no SIP trunk places calls');
      return deps.phones.setSettings(req.staff!.accountId, req.body);
    },
  );
}
