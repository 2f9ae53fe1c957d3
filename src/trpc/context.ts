import { LOCAL_PRINCIPAL, type Principal } from '../auth/principal.js';
import type { Services } from '../services/index.js';

/** Everything a procedure needs; no request in it, so callers and scripts can build one too. */
export interface TrpcContext extends Services {
  production: boolean;
  /** Who is calling: per request over HTTP (`withPrincipal`); in-process callers default to the local admin. */
  principal: Principal;
}

export function createTrpcContext(services: Services, opts: { production: boolean; principal?: Principal }): TrpcContext {
  return { ...services, production: opts.production, principal: opts.principal ?? LOCAL_PRINCIPAL };
}

/** The per-request context: the app's one with the caller from the auth middleware. */
export function withPrincipal(ctx: TrpcContext, principal: Principal): TrpcContext {
  return { ...ctx, principal };
}
