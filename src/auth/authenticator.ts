import type { IncomingHttpHeaders } from 'node:http';
import type { AuthConfig } from '../config.js';
import { ApiKeys } from './api-keys.js';
import { createJwtVerifier, TokenRejected, type JwtVerifier } from './jwt.js';
import type { Principal } from './principal.js';
import { StreamTokens } from './stream-token.js';

/**
 * - `credentials`: API keys and/or JWTs configured; every non-public request needs one.
 * - `loopback`: nothing configured (the safe default): loopback clients only, as the local admin.
 * - `none`: `AGENTSDK_AUTH=none`, everyone is the local admin.
 */
export type AuthMode = 'credentials' | 'loopback' | 'none';

/** Far above any real key or JWT, far below the 16 KiB header limit: longer is refused unread. */
export const MAX_CREDENTIAL_LENGTH = 4096;
/** RFC 6750 b64token: what a bearer credential may contain. */
const TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Resolves credentials to principals; errors are `unauthorized` AppErrors with a `reason` for logs. */
export class Authenticator {
  readonly mode: AuthMode;
  readonly streamTokens: StreamTokens;
  private readonly keys: ApiKeys;
  private readonly jwt?: JwtVerifier;

  constructor(cfg: AuthConfig) {
    this.keys = new ApiKeys(cfg.apiKeys);
    this.jwt = cfg.jwt ? createJwtVerifier(cfg.jwt) : undefined;
    this.mode = cfg.disabled ? 'none' : this.keys.size || this.jwt ? 'credentials' : 'loopback';
    this.streamTokens = new StreamTokens(cfg.streamTokenSecret);
  }

  /** The credential a request carries (`Authorization: Bearer …` or `x-api-key`), undefined when none. */
  credentialOf(headers: IncomingHttpHeaders): string | undefined {
    const auth = headers.authorization;
    const apiKey = headers['x-api-key'];
    if (Array.isArray(apiKey)) throw new TokenRejected('several x-api-key headers');
    let bearer: string | undefined;
    if (auth !== undefined) {
      if (auth.length > MAX_CREDENTIAL_LENGTH + 7) throw new TokenRejected('credential too long');
      const m = /^Bearer +(\S+) *$/i.exec(auth);
      if (!m) throw new TokenRejected('malformed authorization header');
      bearer = m[1];
    }
    if (bearer !== undefined && apiKey !== undefined && bearer !== apiKey) throw new TokenRejected('two different credentials');
    const credential = bearer ?? apiKey;
    if (credential === undefined) return undefined;
    if (credential.length > MAX_CREDENTIAL_LENGTH) throw new TokenRejected('credential too long');
    if (!TOKEN.test(credential)) throw new TokenRejected('malformed credential');
    return credential;
  }

  /** A JWT-shaped bearer goes to JWT verification when JWTs are configured; anything else is an API key. */
  async verify(credential: string): Promise<Principal> {
    if (this.jwt && JWT_SHAPE.test(credential)) return this.jwt(credential);
    const p = this.keys.verify(credential);
    if (!p) throw new TokenRejected(this.keys.size ? 'unknown api key' : 'api keys are not configured');
    return p;
  }
}
