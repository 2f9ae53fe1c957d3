import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { AuthConfig } from '../config.js';
import { AppError } from '../errors.js';
import type { Principal } from './principal.js';

/** Asymmetric algorithms accepted from a JWKS; HS256 only with the shared secret. Never `none`. */
export const JWKS_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
export const SECRET_ALGORITHMS = ['HS256'];

/** A `sub` becomes part of an owner id: keep it printable and bounded. */
const SUB = /^[\x21-\x7e]{1,256}$/;

/** Why a token was refused, for logs (never the token). */
export class TokenRejected extends AppError {
  constructor(readonly reason: string) {
    super('unauthorized', 'invalid credential (unknown key, or a bad or expired token)');
  }
}

export type JwtVerifier = (token: string) => Promise<Principal>;

export function createJwtVerifier(cfg: NonNullable<AuthConfig['jwt']>): JwtVerifier {
  const secret = cfg.secret ? new TextEncoder().encode(cfg.secret) : undefined;
  // jose caches the set and refetches it (rate-limited) when a token names an unknown kid.
  const jwks = cfg.jwksUrl ? createRemoteJWKSet(new URL(cfg.jwksUrl), { timeoutDuration: 5_000, cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 }) : undefined;
  const algorithms = [...(secret ? SECRET_ALGORITHMS : []), ...(jwks ? JWKS_ALGORITHMS : [])];
  // The key follows the algorithm class, so an RS256 public key can never act as an HMAC secret.
  const key: JWTVerifyGetKey = async (header, token) => {
    if (header.alg?.startsWith('HS')) {
      if (!secret) throw new TokenRejected('hmac token without AGENTSDK_JWT_SECRET');
      return secret;
    }
    if (!jwks) throw new TokenRejected('asymmetric token without AGENTSDK_JWT_JWKS_URL');
    return jwks(header, token);
  };

  return async (token) => {
    try {
      decodeProtectedHeader(token);
    } catch {
      throw new TokenRejected('malformed token');
    }
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms,
        issuer: cfg.issuer,
        audience: cfg.audience,
        requiredClaims: ['sub', 'exp'],
        clockTolerance: 5,
      });
      if (typeof payload.sub !== 'string' || !SUB.test(payload.sub)) throw new TokenRejected('bad sub claim');
      return Object.freeze({ id: `user:${payload.sub}`, kind: 'user' as const, admin: false });
    } catch (err) {
      if (err instanceof TokenRejected) throw err;
      // The key set could not be fetched: our problem, not the caller's.
      if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid || (jwks && !(err instanceof errors.JOSEError))) {
        throw new AppError('unavailable', 'the token could not be checked: the key set is unreachable', { cause: err });
      }
      throw new TokenRejected(err instanceof errors.JOSEError ? err.code : 'invalid token');
    }
  };
}
