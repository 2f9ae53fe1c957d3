import type { Logger } from 'pino';
import type { Listener } from '../db/dialect.js';
import { CANCEL_REASONS, type CancelReason, type Runtime } from '../runtime/runtime.js';
import { ClusterRepo } from '../store/cluster.js';
import type { Store } from '../store/store.js';
import { DatabaseTurns } from './turns.js';

export interface ClusterOptions {
  store: Store;
  logger: Logger;
  instanceId: string;
  /** How long this instance's lease lasts without a heartbeat (`AGENTSDK_LEASE_MS`). */
  leaseMs: number;
  /** The runtime whose runs cancel requests reach. */
  runtime: Runtime;
  /** The shared per-thread queue the runtime was built with (sharedTurns), if any. */
  turns?: DatabaseTurns;
}

/** The per-thread queue across instances when the database can be shared (PostgreSQL); built before the runtime. */
export function sharedTurns(store: Store, logger: Logger): DatabaseTurns | undefined {
  return store.db.kind === 'postgres' ? new DatabaseTurns(new ClusterRepo(store.db), store.changes, logger) : undefined;
}

/**
 * This instance among the others sharing the database.
 *
 * - Lease: a row in `instances`, renewed every lease/3. At start-up, and on PostgreSQL at every
 *   heartbeat, runs left queued/running by instances whose lease expired are marked
 *   `interrupted` (SQLite: one process per file, so at start-up every earlier owner is gone).
 * - Notifications (PostgreSQL): one LISTEN connection feeds `store.changes` (new events, runs
 *   leaving the queue) and cancel requests for runs of this instance.
 * - Turns (PostgreSQL): the per-thread queue across instances (DatabaseTurns).
 * - Cancel: a request for a run this process does not hold is recorded on the run's row; its
 *   owner hears it (NOTIFY, or the sweep at each heartbeat) and aborts it.
 */
export class Cluster {
  private readonly turns: DatabaseTurns | undefined;
  private readonly repo: ClusterRepo;
  private readonly runtime: Runtime;
  private listener: Listener | null = null;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | null = null;
  private stopped = false;
  /** Active runs of this instance that were not live in this process at the last tick. */
  private suspects = new Set<string>();

  private constructor(private readonly opts: ClusterOptions) {
    this.repo = new ClusterRepo(opts.store.db);
    this.turns = opts.turns;
    this.runtime = opts.runtime;
  }

  /** Registers the instance, recovers runs of instances that are gone, starts listening and heartbeats. */
  static async start(opts: ClusterOptions): Promise<Cluster> {
    const cluster = new Cluster(opts);
    const { store, instanceId, leaseMs } = opts;
    await cluster.repo.register(instanceId, leaseMs);
    await cluster.recover(store.db.kind === 'sqlite');
    const listen = store.db.listen;
    if (listen) {
      cluster.listener = await listen(await cluster.repo.channel(), {
        message: (payload) => cluster.onNotification(payload),
        ready: (reconnected) => {
          if (!reconnected) return;
          opts.logger.info('notification connection re-established');
          // Whatever was sent meanwhile is lost.
          cluster.resync();
        },
        error: (err) => opts.logger.warn({ err }, 'notification connection lost; reconnecting'),
      });
    }
    cluster.timer = setInterval(() => {
      if (!cluster.ticking && !cluster.stopped) cluster.ticking = cluster.tick().finally(() => (cluster.ticking = null));
    }, Math.max(1, Math.floor(leaseMs / 3)));
    cluster.timer.unref();
    return cluster;
  }

  /**
   * Asks whichever instance executes the run to cancel it (it ends `cancelled`).
   * False when the run is not queued or running anywhere.
   */
  async requestCancel(runId: string, reason: CancelReason = 'cancel'): Promise<boolean> {
    if (this.runtime.cancel(runId, reason)) return true;
    if (!(await this.repo.requestCancel(runId, reason === 'cancel' ? undefined : reason))) return false;
    // Without NOTIFY (SQLite) the owner is this process; a run still registering is caught by the sweep.
    if (!this.listener) this.runtime.cancel(runId, reason);
    return true;
  }

  /** Stops heartbeats and listening, and gives up the lease (call after the runtime has drained). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    // A heartbeat in flight would add the row back after it is removed.
    await this.ticking;
    await this.listener?.close();
    this.listener = null;
    await this.repo.remove(this.opts.instanceId).catch((err) => this.opts.logger.warn({ err }, 'could not remove the instance lease'));
  }

  private onNotification(payload: string): void {
    let m: { k?: string; r?: string; t?: string; o?: string };
    try {
      m = JSON.parse(payload);
    } catch {
      return;
    }
    const { changes } = this.opts.store;
    switch (m.k) {
      case 'e':
        changes.publish(`run:${m.r}`);
        break;
      case 's':
        changes.publish(`run:${m.r}`);
        changes.publish(`thread:${m.t}`);
        break;
      case 'c':
        if (m.o === this.opts.instanceId && m.r) void this.cancelHere([m.r]);
        break;
      default:
        this.resync();
    }
  }

  /** Everyone re-reads, and missed cancel requests are picked up. */
  private resync(): void {
    this.opts.store.changes.publishAll();
    void this.sweepCancels();
  }

  private async tick(): Promise<void> {
    const { logger, instanceId, leaseMs, store } = this.opts;
    try {
      if (!(await this.repo.heartbeat(instanceId, leaseMs))) {
        logger.error({ leaseMs }, 'this instance missed its lease and other instances interrupted its runs; stopping those runs here');
        await this.dropTakenRuns();
      }
      if (store.db.kind === 'postgres') await this.recover(false);
      await this.sweepCancels();
      await this.sweepOwnOrphans();
    } catch (err) {
      if (!this.stopped) logger.warn({ err }, 'instance heartbeat failed');
    }
  }

  /**
   * Runs this instance owns that are active in the database but not in this process (their end
   * could not be stored, e.g. the database was unreachable): they would hold their thread's queue
   * forever. Seen so at two ticks in a row (a run being registered is not live for a moment), they
   * are interrupted like those of a dead instance.
   */
  private async sweepOwnOrphans(): Promise<void> {
    const runtime = this.runtime;
    const orphans = (await this.repo.activeOf(this.opts.instanceId)).filter((id) => !runtime.get(id));
    const confirmed = orphans.filter((id) => this.suspects.has(id));
    this.suspects = new Set(orphans.filter((id) => !this.suspects.has(id)));
    const runs = await this.repo.interruptOwn(this.opts.instanceId, confirmed);
    if (runs.length) this.opts.logger.warn({ runs: runs.map((r) => r.id) }, 'marked runs of this instance that had stopped without storing their end as interrupted');
  }

  private async recover(othersGone: boolean): Promise<void> {
    const runs = await this.repo.recover(this.opts.instanceId, { othersGone });
    if (runs.length) this.opts.logger.warn({ runs: runs.map((r) => r.id) }, 'marked runs of server instances that are gone as interrupted');
  }

  /** Cancel requests for this instance's runs whose notification was missed. */
  private async sweepCancels(): Promise<void> {
    try {
      await this.cancelHere(await this.repo.cancelRequested(this.opts.instanceId));
    } catch (err) {
      this.opts.logger.warn({ err }, 'could not check for cancel requests');
    }
  }

  /** Cancels these runs of this process the way their cancel was asked for (plain, interrupt, rollback). */
  private async cancelHere(ids: string[]): Promise<void> {
    const live = ids.filter((id) => this.runtime.get(id));
    if (live.length === 0) return;
    let reasons = new Map<string, string>();
    try {
      reasons = await this.repo.cancelReasons(live);
    } catch (err) {
      this.opts.logger.warn({ err }, 'could not read why runs are to be cancelled; cancelling them plainly');
    }
    for (const id of live) {
      const reason = reasons.get(id);
      this.runtime.cancel(id, CANCEL_REASONS.includes(reason as CancelReason) ? (reason as CancelReason) : 'cancel');
    }
  }

  /** After a lost lease: runs of this process that another instance has closed stop here too. */
  private async dropTakenRuns(): Promise<void> {
    if (!this.turns) return;
    const ids = [...this.turns.live].map((r) => r.runId);
    // Their logs were closed after their reserved seqs: they end here on that same event, storing nothing more.
    for (const id of await this.repo.ended(ids)) void this.runtime.get(id)?.takenOver();
  }
}
