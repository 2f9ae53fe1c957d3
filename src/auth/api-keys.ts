import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApiKeyConfig } from '../config.js';
import type { Principal } from './principal.js';

export const sha256 = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/** API keys by their SHA-256: the keys themselves are never kept. */
export class ApiKeys {
  private readonly entries: Array<{ digest: Buffer; principal: Principal }>;

  constructor(keys: ApiKeyConfig[]) {
    this.entries = keys.map((k) => ({ digest: Buffer.from(k.sha256, 'hex'), principal: Object.freeze({ id: k.name, kind: 'key' as const, admin: k.admin }) }));
  }

  get size(): number {
    return this.entries.length;
  }

  /** The key's principal, or undefined. Every entry is compared (in constant time), so timing tells nothing about which. */
  verify(key: string): Principal | undefined {
    const digest = sha256(key);
    let found: Principal | undefined;
    for (const e of this.entries) if (timingSafeEqual(digest, e.digest)) found ??= e.principal;
    return found;
  }
}
