// Where the agent works from, kept to a tenth of a degree: queues that prefer nearby agents offer
// customers who shared their position to nearer agents first (from the agent's next connection).
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { SharedLocation } from '../../protocol/events.js';
import { coarsen } from '../../routing/eligibility.js';
import type { AccountService } from '../../accounts/account-service.js';
import type { TokenService } from '../auth/tokens.js';
import { requireStaff } from './guards.js';

const LocationBody = Type.Object({ location: Type.Union([Type.Null(), SharedLocation]) }, { additionalProperties: false });

export function registerAgentLocationRoutes(app: FastifyInstance, deps: { tokens: TokenService; accounts: AccountService }): void {
  app.put<{ Body: Static<typeof LocationBody> }>(
    '/api/agent/location',
    {
      preHandler: requireStaff(deps.tokens, ['agent', 'supervisor']),
      schema: { summary: 'Where I work from (kept to about 11 km); null forgets it', tags: ['agent'], security: [{ bearer: [] }], body: LocationBody },
    },
    async (req) => {
      const p = req.body.location ? coarsen(req.body.location) : null;
      await deps.accounts.update(req.staff!.accountId, { locationLat10: p ? Math.round(p.lat * 10) : null, locationLon10: p ? Math.round(p.lon * 10) : null });
      return { location: p };
    },
  );
}
