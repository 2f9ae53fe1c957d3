/** Who may see what: a principal sees what it owns, an admin everything; the rest looks absent (404). */
import { mayAccess, type Principal } from '../auth/principal.js';
import { AppError } from '../errors.js';
import type { RunRecord } from '../store/runs.js';
import type { ThreadRecord } from '../store/threads.js';

export type { Principal };

/** The run, if it exists and `principal` may see it; else the same 404 as for an unknown id (no id oracle). */
export function visibleRun(principal: Principal, run: RunRecord | undefined, id: string): RunRecord {
  if (!run || !mayAccess(principal, run.principal)) throw new AppError('not_found', `unknown run "${id}"`);
  return run;
}

export function visibleThread(principal: Principal, thread: ThreadRecord | undefined, id: string): ThreadRecord {
  if (!thread || !mayAccess(principal, thread.owner)) throw new AppError('not_found', `unknown thread "${id}"`);
  return thread;
}

export const canSee = (principal: Principal, owner: string | null | undefined): boolean => mayAccess(principal, owner);

/**
 * The owner filter of a list: a non-admin sees only its own; an admin everything, or one
 * owner's when it asks (`owner` query).
 */
export function ownerFilter(principal: Principal, asked?: string): string | undefined {
  if (!principal.admin) return principal.id;
  return asked;
}
