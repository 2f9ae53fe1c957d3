import { randomBytes } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import type { Principal, PrincipalKind } from './principal.js';
import { TokenRejected } from './jwt.js';

/** Long enough to open (and reopen) a stream, short enough that a leaked URL is soon worthless. */
export const STREAM_TOKEN_TTL_S = 300;
const AUDIENCE = 'agent-server:stream';
const KINDS = new Set<PrincipalKind>(['key', 'user', 'anonymous']);

/**
 * Short-lived tokens for event streams a browser opens with EventSource (which cannot send
 * headers): `?access_token=` on GET event-stream routes only. HS256 with a key of their own,
 * so neither an API key nor a user JWT ever needs to be put in a URL.
 */
export class StreamTokens {
  private readonly key: Uint8Array;

  constructor(secret?: string, private readonly ttlS = STREAM_TOKEN_TTL_S) {
    this.key = secret ? new TextEncoder().encode(secret) : randomBytes(32);
  }

  async issue(p: Principal, now = Date.now()): Promise<{ token: string; expires_at: string }> {
    const exp = Math.floor(now / 1000) + this.ttlS;
    const token = await new SignJWT({ kind: p.kind, admin: p.admin })
      .setProtectedHeader({ alg: 'HS256', typ: 'stream+jwt' })
      .setSubject(p.id)
      .setAudience(AUDIENCE)
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(exp)
      .sign(this.key);
    return { token, expires_at: new Date(exp * 1000).toISOString() };
  }

  async verify(token: string): Promise<Principal> {
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'], audience: AUDIENCE, typ: 'stream+jwt', requiredClaims: ['sub', 'exp'] });
      const kind = payload.kind as PrincipalKind;
      if (typeof payload.sub !== 'string' || !KINDS.has(kind) || typeof payload.admin !== 'boolean') throw new Error('bad claims');
      return Object.freeze({ id: payload.sub, kind, admin: payload.admin });
    } catch {
      throw new TokenRejected('bad stream token');
    }
  }
}
