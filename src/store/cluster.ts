import { sql, type Expression, type ExpressionBuilder, type SqlBool, type Transaction } from 'kysely';
import { zeroUsage } from '../../contracts/common.js';
import type { RunEvent } from '../../contracts/events.js';
import type { Db } from '../db/dialect.js';
import type { Database } from '../db/schema.js';
import { EventRepo } from './events.js';
import { ACTIVE_STATUSES } from './runs.js';

export type TurnClaim = 'claimed' | 'blocked' | 'gone';

const INTERRUPTED = { code: 'interrupted', message: 'the server instance running this run stopped before it finished' };

/** The terminal event recovery stores for a run whose instance is gone. */
export function interruptedEvent(): RunEvent {
  return { type: 'run.error', status: 'interrupted', ...INTERRUPTED, usage: zeroUsage() };
}

/**
 * What several server instances sharing one database coordinate through: instance leases,
 * recovery of runs whose instance is gone, cross-instance cancel requests and (PostgreSQL)
 * the per-thread run queue.
 */
export class ClusterRepo {
  constructor(private readonly db: Db) {}

  /** Adds (or renews) this instance's row with a lease of `leaseMs`. */
  async register(id: string, leaseMs: number): Promise<void> {
    const { db } = this;
    await db.kysely
      .insertInto('instances')
      .values({ id, started_at: db.now(), heartbeat_at: db.now(), expires_at: db.now(leaseMs) })
      .onConflict((oc) => oc.column('id').doUpdateSet({ heartbeat_at: db.now(), expires_at: db.now(leaseMs) }))
      .execute();
  }

  /**
   * Renews the lease. False when the row was gone: another instance found the lease expired
   * and interrupted this instance's runs (the row is added back, so new runs are safe).
   */
  async heartbeat(id: string, leaseMs: number): Promise<boolean> {
    const { db } = this;
    const res = await db.kysely.updateTable('instances').set({ heartbeat_at: db.now(), expires_at: db.now(leaseMs) }).where('id', '=', id).executeTakeFirst();
    if (Number(res.numUpdatedRows) === 1) return true;
    await this.register(id, leaseMs);
    return false;
  }

  async remove(id: string): Promise<void> {
    await this.db.kysely.deleteFrom('instances').where('id', '=', id).execute();
  }

  /**
   * Marks `interrupted` every queued or running run whose owner is not a live instance (lease
   * expired, row missing, or no owner), and appends a `run.error` event so streams following it
   * end. Never touches runs of `self` or of an instance whose lease is current. With
   * `othersGone` (SQLite: one process per file) every other instance counts as gone.
   * Expired instance rows are removed in the same commit, which is how a stalled instance
   * learns (at its next heartbeat) that its runs were taken from it.
   */
  async recover(self: string, opts: { othersGone: boolean }): Promise<Array<{ id: string; thread_id: string }>> {
    return this.db.kysely.transaction().execute(async (trx) => {
      let gone = trx.deleteFrom('instances').where('id', '<>', self);
      if (!opts.othersGone) gone = gone.where('expires_at', '<=', this.db.now());
      await gone.execute();
      return this.interrupt(trx, (eb) => eb.or([eb('owner', 'is', null), eb.and([eb('owner', '<>', self), eb('owner', 'not in', eb.selectFrom('instances').select('id'))])]));
    });
  }

  /** Queued or running runs of `owner`. */
  async activeOf(owner: string): Promise<string[]> {
    const rows = await this.db.kysely.selectFrom('runs').select('id').where('status', 'in', ACTIVE_STATUSES).where('owner', '=', owner).execute();
    return rows.map((r) => r.id);
  }

  /** Interrupts these runs of `owner` (still active ones only), as `recover` does. */
  async interruptOwn(owner: string, ids: string[]): Promise<Array<{ id: string; thread_id: string }>> {
    if (ids.length === 0) return [];
    return this.db.kysely.transaction().execute((trx) => this.interrupt(trx, (eb) => eb.and([eb('owner', '=', owner), eb('id', 'in', ids)])));
  }

  private async interrupt(trx: Transaction<Database>, which: (eb: ExpressionBuilder<Database, 'runs'>) => Expression<SqlBool>): Promise<Array<{ id: string; thread_id: string }>> {
    const now = new Date().toISOString();
    const runs = await trx
      .updateTable('runs')
      .set({ status: 'interrupted', finished_at: now, error: JSON.stringify(INTERRUPTED) })
      .where('status', 'in', ACTIVE_STATUSES)
      .where(which)
      .returning(['id', 'thread_id', 'seq_reserved'])
      .execute();
    const event = interruptedEvent();
    const log = new EventRepo({ ...this.db, kysely: trx });
    for (const run of runs) {
      // After the reserved range: events are streamed before they are stored, so a client may hold
      // seqs past the last stored one, never past the reservation. (Rows from before reservations: 0.)
      const seq = Math.max(Number(run.seq_reserved), await log.lastSeq(run.id)) + 1;
      await log.append(run.id, seq, event, now);
    }
    return runs.map((r) => ({ id: r.id, thread_id: r.thread_id }));
  }

  /**
   * PostgreSQL: the run takes its thread when no other run there is running and no run that
   * arrived earlier is still queued (waiting runs hold nothing). The check and the update run in
   * one statement under a transaction-scoped advisory lock on the thread (the migration's
   * `agent_server_claim_turn`), so two instances never both win. 'gone' when the run is no longer
   * queued (cancelled, interrupted, deleted).
   */
  async claimTurn(runId: string, threadId: string): Promise<TurnClaim> {
    const { rows } = await sql<{ claim: TurnClaim }>`select agent_server_claim_turn(${runId}, ${threadId}) as claim`.execute(this.db.kysely);
    return rows[0].claim;
  }

  /**
   * Records a cancel request for an active run (any instance); false when it is not active.
   * `reason` (multitask interrupt / rollback) tells the run's instance how to end it; the first one asked wins.
   */
  async requestCancel(runId: string, reason?: string): Promise<boolean> {
    const res = await this.db.kysely
      .updateTable('runs')
      .set({ cancel_requested_at: sql`coalesce(cancel_requested_at, ${this.db.now()})`, ...(reason ? { cancel_reason: sql<string>`coalesce(cancel_reason, ${reason})` } : {}) })
      .where('id', '=', runId)
      .where('status', 'in', ACTIVE_STATUSES)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /** Active runs of `owner` somebody asked to cancel (the fallback for a missed notification). */
  async cancelRequested(owner: string): Promise<string[]> {
    const rows = await this.db.kysely
      .selectFrom('runs')
      .select('id')
      .where('status', 'in', ACTIVE_STATUSES)
      .where('owner', '=', owner)
      .where('cancel_requested_at', 'is not', null)
      .execute();
    return rows.map((r) => r.id);
  }

  /** Why the cancel of each of these runs was asked for (absent: a plain cancel). */
  async cancelReasons(ids: string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.kysely.selectFrom('runs').select(['id', 'cancel_reason']).where('id', 'in', ids).where('cancel_reason', 'is not', null).execute();
    return new Map(rows.map((r) => [r.id, r.cancel_reason!]));
  }

  /** Of these run ids, the ones whose row is no longer queued or running. */
  async ended(ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await this.db.kysely.selectFrom('runs').select('id').where('id', 'in', ids).where('status', 'not in', ACTIVE_STATUSES).execute();
    return rows.map((r) => r.id);
  }

  /** PostgreSQL: the NOTIFY channel of this schema (created by the migrations). */
  async channel(): Promise<string> {
    const { rows } = await sql<{ channel: string }>`select agent_server_channel() as channel`.execute(this.db.kysely);
    return rows[0].channel;
  }
}
