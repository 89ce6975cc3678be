// Bearer-token checks for HTTP routes. A route names the roles it admits; the principal is attached
// to the request for the handler.
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { DomainError } from '../../lib/errors.js';
import type { Role } from '../../db/entities.js';
import type { Principal, TokenService } from '../auth/tokens.js';

export type StaffPrincipal = Extract<Principal, { kind: 'staff' }>;

declare module 'fastify' {
  interface FastifyRequest {
    staff?: StaffPrincipal;
  }
}

export function bearerToken(header: string | undefined): string | null {
  const m = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header ?? '');
  return m ? m[1]! : null;
}

/**
 * Admits staff with one of `roles`. A one-time password must be changed first: until then only the
 * routes marked `allowPasswordChange` answer.
 */
export function requireStaff(tokens: TokenService, roles: Role[], opts: { allowPasswordChange?: boolean } = {}): preHandlerAsyncHookHandler {
  return async (req: FastifyRequest, _reply: FastifyReply) => {
    const token = bearerToken(req.headers.authorization);
    if (!token) throw new DomainError('UNAUTHENTICATED', 'missing bearer token');
    const principal = await tokens.verify(token);
    if (principal.kind !== 'staff') throw new DomainError('FORBIDDEN', 'staff only');
    if (!roles.includes(principal.role)) throw new DomainError('FORBIDDEN', `requires role ${roles.join(' or ')}`);
    if (principal.mustChangePassword && !opts.allowPasswordChange) {
      throw new DomainError('PASSWORD_CHANGE_REQUIRED', 'change the one-time password first (POST /api/auth/password)');
    }
    req.staff = principal;
  };
}

export const STAFF_ROLES: Role[] = ['agent', 'supervisor', 'admin'];
