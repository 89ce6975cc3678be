// Media for staff clients: the ICE servers a softphone or supervisor console needs before its first
// call (visitors get theirs with each call), and the registry of media nodes for admins.
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { MediaEngine } from '../../media/index.js';
import type { IceServer } from '../../protocol/events.js';
import type { TokenService } from '../auth/tokens.js';
import { requireStaff, STAFF_ROLES } from './guards.js';

const IceServerSchema = Type.Object({
  urls: Type.Array(Type.String()),
  username: Type.Optional(Type.String()),
  credential: Type.Optional(Type.String()),
});

const MediaNodeSchema = Type.Object({
  id: Type.String(),
  health: Type.Object({ state: Type.String(), detail: Type.Optional(Type.String()), version: Type.Optional(Type.String()) }),
  load: Type.Integer({ description: 'participants in its rooms, as the node reports' }),
  rooms: Type.Integer(),
});

export interface MediaRouteDeps {
  tokens: TokenService;
  media: { engine: MediaEngine; iceServers: (userId: string) => IceServer[] };
}

export function registerMediaRoutes(app: FastifyInstance, deps: MediaRouteDeps): void {
  const security = [{ bearer: [] }];
  app.get(
    '/api/media/ice-servers',
    {
      preHandler: requireStaff(deps.tokens, STAFF_ROLES),
      schema: {
        summary: 'ICE servers (STUN, TURN with credentials that expire) for this staff member’s calls',
        tags: ['media'],
        security,
        response: { 200: Type.Object({ iceServers: Type.Array(IceServerSchema) }) },
      },
    },
    async (req) => ({ iceServers: deps.media.iceServers(req.staff!.accountId) }),
  );

  app.get(
    '/api/admin/media/nodes',
    {
      preHandler: requireStaff(deps.tokens, ['admin', 'supervisor']),
      schema: {
        summary: 'Media nodes (Janus servers): health and load; new calls go to the least loaded healthy node',
        tags: ['media'],
        security,
        response: { 200: Type.Object({ nodes: Type.Array(MediaNodeSchema) }) },
      },
    },
    async () => ({ nodes: deps.media.engine.nodes() }),
  );
}
