import type { Services } from '../services/index.js';

/** Everything a procedure needs; no request in it, so callers and scripts can build one too. */
export interface TrpcContext extends Services {
  production: boolean;
}

export function createTrpcContext(services: Services, opts: { production: boolean }): TrpcContext {
  return { ...services, production: opts.production };
}
