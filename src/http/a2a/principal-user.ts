/** The caller on the A2A SDK's side: our principal carried as the SDK's `User`. */
import type { Request } from 'express';
import type { ServerCallContext, User } from '@a2a-js/sdk/server';
import type { Principal } from '../../auth/principal.js';
import { AppError } from '../../errors.js';
import { principalOf } from '../auth.js';

export class PrincipalUser implements User {
  constructor(readonly principal: Principal) {}
  get isAuthenticated(): boolean {
    return this.principal.kind !== 'anonymous';
  }
  get userName(): string {
    return this.principal.id;
  }
}

/** The SDK's userBuilder: the principal the auth middleware resolved for this request. */
export const principalUser = async (req: Request): Promise<User> => new PrincipalUser(principalOf(req));

/** The principal of an A2A call (every call passes the auth middleware, so one is always there). */
export function principalFrom(context: ServerCallContext | undefined): Principal {
  const user = context?.user;
  if (user instanceof PrincipalUser) return user.principal;
  throw new AppError('unauthorized', 'no principal on this A2A call');
}
