// What staff need to know about each other: the agents they can transfer to or bring into a call,
// with their presence. Names and states only; contact details stay with admins.
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { AccountService } from '../../accounts/account-service.js';
import type { ChatService } from '../../chat/chat-service.js';
import { PUSH_REACHABLE_REASON } from '../../routing/engine.js';
import type { TokenService } from '../auth/tokens.js';
import { requireStaff, STAFF_ROLES } from './guards.js';

const Colleague = Type.Object({
  id: Type.String(),
  displayName: Type.String(),
  state: Type.Union(['logged_off', 'not_ready', 'ready', 'busy', 'wrapup'].map((s) => Type.Literal(s))),
  /** Present (true) when the agent's app is closed and offers reach it by push (docs/push.md). */
  byPush: Type.Optional(Type.Literal(true)),
});

export function registerStaffRoutes(app: FastifyInstance, deps: { tokens: TokenService; accounts: AccountService; chat: ChatService }): void {
  app.get(
    '/api/staff/agents',
    {
      preHandler: requireStaff(deps.tokens, STAFF_ROLES),
      schema: {
        summary: 'Agents and supervisors with their presence, for transfers and adding a third party to a call',
        tags: ['staff'],
        security: [{ bearer: [] }],
        response: { 200: Type.Object({ agents: Type.Array(Colleague) }) },
      },
    },
    async () => {
      const accounts = (await deps.accounts.list()).filter((a) => a.role !== 'admin');
      const agents = await Promise.all(
        accounts.map(async (a) => {
          const status = await deps.chat.agentStatus(a.id);
          return { id: a.id, displayName: a.displayName, state: status.state, ...(status.reason === PUSH_REACHABLE_REASON ? { byPush: true as const } : {}) };
        }),
      );
      // Ready first: they can answer now.
      const rank = { ready: 0, busy: 1, wrapup: 2, not_ready: 3, logged_off: 4 } as const;
      return { agents: agents.sort((x, y) => rank[x.state] - rank[y.state] || x.displayName.localeCompare(y.displayName)) };
    },
  );
}
