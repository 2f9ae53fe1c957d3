/** SQL of completion webhooks: subscriptions, deliveries (stored before sent) and their lease-based claims. */
import { sql } from 'kysely';
import type { Db } from '../db/dialect.js';
import { ACTIVE_STATUSES } from './runs.js';

export type DeliveryState = 'pending' | 'delivered' | 'failed';

export interface DeliveryRecord {
  id: string;
  run_id: string;
  url: string;
  type: string;
  payload: string;
  state: DeliveryState;
  attempts: number;
  next_attempt_at: string | null;
  last_status: number | null;
  last_error: string | null;
  delivered_at: string | null;
  created_at: string;
}

export interface NewDelivery {
  id: string;
  runId: string;
  /** `<status>@<finished_at>`: one delivery per status a run reached, whoever stores it first. */
  occurrence: string;
  url: string;
  type: string;
  payload: string;
}

export class WebhookRepo {
  constructor(private readonly db: Db) {}

  async subscribe(runId: string, url: string): Promise<void> {
    await this.db.kysely
      .insertInto('webhook_subscriptions')
      .values({ run_id: runId, url, open: 1, created_at: new Date().toISOString() })
      .onConflict((oc) => oc.column('run_id').doNothing())
      .execute();
  }

  async subscription(runId: string): Promise<{ url: string } | undefined> {
    return this.db.kysely.selectFrom('webhook_subscriptions').select('url').where('run_id', '=', runId).executeTakeFirst();
  }

  /**
   * Open subscriptions whose run is no longer queued or running (it ended, waits for input, or
   * is gone): each may owe a delivery. Only these few rows are read, never the runs table at large.
   */
  async settled(limit: number, runId?: string): Promise<Array<{ run_id: string; url: string; gone: boolean }>> {
    let q = this.db.kysely
      .selectFrom('webhook_subscriptions as s')
      .leftJoin('runs as r', 'r.id', 's.run_id')
      .select(['s.run_id', 's.url', 'r.id as rid'])
      .where('s.open', '=', 1)
      .where((eb) => eb.or([eb('r.id', 'is', null), eb('r.status', 'not in', ACTIVE_STATUSES)]));
    if (runId) q = q.where('s.run_id', '=', runId);
    const rows = await q.limit(limit).execute();
    return rows.map((r) => ({ run_id: r.run_id, url: r.url, gone: r.rid === null }));
  }

  /** Stores the delivery (once per occurrence) and, when the run has ended for good, closes its subscription; one commit. */
  async record(d: NewDelivery | null, runId: string, close: boolean): Promise<void> {
    await this.db.kysely.transaction().execute(async (trx) => {
      if (d) {
        await trx
          .insertInto('webhook_deliveries')
          .values({ id: d.id, run_id: d.runId, occurrence: d.occurrence, url: d.url, type: d.type, payload: d.payload, state: 'pending', attempts: 0, next_attempt_at: new Date().toISOString(), lease_owner: null, lease_until: null, last_status: null, last_error: null, delivered_at: null, created_at: new Date().toISOString() })
          .onConflict((oc) => oc.columns(['run_id', 'occurrence']).doNothing())
          .execute();
      }
      if (close) await trx.updateTable('webhook_subscriptions').set({ open: 0 }).where('run_id', '=', runId).execute();
    });
  }

  /**
   * Claims up to `limit` due deliveries for `owner` until `leaseMs` from now: each claim is one
   * conditional update, so of several instances exactly one wins a delivery; a lease that runs
   * out (its instance died mid-send) makes the delivery due again.
   */
  async claimDue(owner: string, leaseMs: number, limit: number): Promise<DeliveryRecord[]> {
    const { db } = this;
    const now = db.now();
    const due = await db.kysely
      .selectFrom('webhook_deliveries')
      .select('id')
      .where('state', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
      .orderBy('next_attempt_at')
      .limit(limit)
      .execute();
    const claimed: DeliveryRecord[] = [];
    for (const { id } of due) {
      const row = await db.kysely
        .updateTable('webhook_deliveries')
        .set({ lease_owner: owner, lease_until: db.now(leaseMs), attempts: sql<number>`attempts + 1` })
        .where('id', '=', id)
        .where('state', '=', 'pending')
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', db.now())]))
        .returningAll()
        .executeTakeFirst();
      if (row) claimed.push(this.toRecord(row));
    }
    return claimed;
  }

  /** The outcome of an attempt, by the instance that holds its lease only. `retryInMs`: pending again after it. */
  async settle(id: string, owner: string, outcome: { state: DeliveryState; status: number | null; error: string | null; retryInMs?: number }): Promise<void> {
    const { db } = this;
    await db.kysely
      .updateTable('webhook_deliveries')
      .set({
        state: outcome.state,
        last_status: outcome.status,
        last_error: outcome.error,
        lease_owner: null,
        lease_until: null,
        next_attempt_at: outcome.state === 'pending' ? db.now(outcome.retryInMs ?? 0) : null,
        delivered_at: outcome.state === 'delivered' ? db.now() : null,
      })
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .execute();
  }

  /** The run's deliveries, oldest first. */
  async ofRun(runId: string): Promise<DeliveryRecord[]> {
    const rows = await this.db.kysely.selectFrom('webhook_deliveries').selectAll().where('run_id', '=', runId).orderBy('created_at').orderBy('id').execute();
    return rows.map((r) => this.toRecord(r));
  }

  private toRecord(r: Record<string, any>): DeliveryRecord {
    const t = (v: unknown) => this.db.time(v as string | Date | null);
    return {
      id: r.id,
      run_id: r.run_id,
      url: r.url,
      type: r.type,
      payload: r.payload,
      state: r.state,
      attempts: Number(r.attempts),
      next_attempt_at: t(r.next_attempt_at),
      last_status: r.last_status === null ? null : Number(r.last_status),
      last_error: r.last_error,
      delivered_at: t(r.delivered_at),
      created_at: t(r.created_at)!,
    };
  }
}
