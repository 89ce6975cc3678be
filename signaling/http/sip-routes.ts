// The SIP trunks' state for admins: registration at the provider, reachability (OPTIONS pings) and
// calls in progress, as the SIP bridge sees them.
import type { FastifyInstance } from 'fastify';
import type { TrunkStatus } from '../../sip-bridge/index.js';
import type { TokenService } from '../auth/tokens.js';
import { requireStaff } from './guards.js';

export function registerSipRoutes(app: FastifyInstance, deps: { tokens: TokenService; trunkStatus: () => TrunkStatus[] | null }): void {
  app.get(
    '/api/admin/sip/trunks',
    { preHandler: requireStaff(deps.tokens, ['admin']), schema: { summary: 'SIP trunks: registration, reachability, calls in progress', tags: ['admin'], security: [{ bearer: [] }] } },
    async () => ({ enabled: deps.trunkStatus() !== null, trunks: deps.trunkStatus() ?? [] }),
  );
}
