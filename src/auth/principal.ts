/**
 * Who is calling. Services take one of these and decide what it may see:
 * `admin` sees everything, anyone else only what `id` owns.
 */
export type PrincipalKind = 'key' | 'user' | 'anonymous';

export interface Principal {
  /** Stable owner id: a key's name (`key_<8 hex>` for env keys), `user:<sub>` for JWT users, `local` without auth. */
  readonly id: string;
  readonly kind: PrincipalKind;
  readonly admin: boolean;
  /**
   * The calling request's trace context (opaque; set when tracing is on): what the request starts
   * is traced under it. Passed along explicitly, so no async context tracking is needed.
   */
  readonly trace?: unknown;
}

/** No authentication configured (loopback clients, or `AGENTSDK_AUTH=none`): one local administrator. */
export const LOCAL_PRINCIPAL: Principal = Object.freeze({ id: 'local', kind: 'anonymous', admin: true });

/** On public routes (/health, cards, docs) when no credential was needed: owns nothing, sees nothing private. */
export const PUBLIC_PRINCIPAL: Principal = Object.freeze({ id: 'anonymous', kind: 'anonymous', admin: false });

/** Whether `principal` may read or change something owned by `ownerId` (null: owned by no one, admins only). */
export function mayAccess(principal: Principal, ownerId: string | null | undefined): boolean {
  return principal.admin || (ownerId != null && ownerId === principal.id);
}
