/** What every run start does beside starting it, on every surface: multitask_strategy and the completion webhook. */
import type { MultitaskStrategy } from '../../contracts/run.js';
import type { Cluster } from '../cluster/cluster.js';
import { AppError, threadBusy } from '../errors.js';
import type { CancelReason, Runtime } from '../runtime/runtime.js';
import type { Store } from '../store/store.js';
import { visibleThread, type Principal } from './access.js';
import { runEvents } from './run-events.js';
import type { WebhookService } from './webhooks.js';

/** How long a rollback waits for the runs it cancelled to store their end before it deletes them. */
export const ROLLBACK_WAIT_MS = 30_000;

export interface StartOptions {
  agentId: string;
  threadId?: string;
  strategy?: MultitaskStrategy;
  webhook?: string;
}

/** What the start itself needs from the preparation. */
export interface Prepared {
  /** Multitask `reject`: decided where the run is stored, under the thread's lock (store.ts#claimThread). */
  exclusive: boolean;
  /** The checked webhook URL. */
  webhook?: string;
}

export class RunStarts {
  constructor(
    private readonly runtime: Runtime,
    private readonly store: Store,
    private readonly cluster?: Cluster,
    private readonly webhooks?: WebhookService,
  ) {}

  /**
   * Before a run starts on `threadId`: checks the webhook (400, nothing changed), the caller's
   * limits (`admit`), then applies
   * the strategy (the request's, else the agent's, else `enqueue`) to the thread's queued and
   * running runs:
   * - `reject`: 409 `thread_busy` when there is one, decided in the transaction that stores the run;
   * - `interrupt`: each is cancelled (ends `cancelled`, stop_reason `interrupted`, keeping what it
   *   produced) on whichever instance runs it; the new run queues behind them and runs next;
   * - `rollback`: each is cancelled, and once it has stored its end it is deleted with all it
   *   stored (turns, events), before the new run is stored.
   * A thread of another principal is 404 before anything is cancelled.
   */
  async prepare(principal: Principal, opts: StartOptions, admit?: () => Promise<void>): Promise<Prepared> {
    const webhook = opts.webhook !== undefined ? await this.checkWebhook(opts.webhook) : undefined;
    // Limits after the input checks (a refused webhook counts no start), before anything changes.
    await admit?.();
    const strategy = opts.strategy ?? this.runtime.agents.get(opts.agentId)?.multitaskStrategy ?? 'enqueue';
    if (strategy === 'reject') return { exclusive: true, webhook };
    if (strategy === 'enqueue' || !opts.threadId) return { exclusive: false, webhook };
    const thread = await this.store.threads.get(opts.threadId);
    if (!thread) return { exclusive: false, webhook };
    visibleThread(principal, thread, opts.threadId);
    const active = await this.store.runs.activeIds(opts.threadId);
    await Promise.all(active.map((id) => this.cancel(id, strategy)));
    if (strategy === 'rollback' && active.length) {
      await Promise.all(active.map((id) => this.settled(id)));
      await this.store.rollbackRuns(opts.threadId, active);
    }
    return { exclusive: false, webhook };
  }

  /**
   * What `prepare` would refuse, changing nothing (protocols that must refuse before they answer,
   * e.g. A2A before a task exists): a bad webhook (400), a busy thread under `reject` (409).
   */
  async check(principal: Principal, opts: StartOptions): Promise<void> {
    if (opts.webhook !== undefined) await this.checkWebhook(opts.webhook);
    const strategy = opts.strategy ?? this.runtime.agents.get(opts.agentId)?.multitaskStrategy ?? 'enqueue';
    if (strategy !== 'reject' || !opts.threadId) return;
    const thread = await this.store.threads.get(opts.threadId);
    if (!thread) return;
    visibleThread(principal, thread, opts.threadId);
    if ((await this.store.runs.activeIds(opts.threadId)).length) throw threadBusy(opts.threadId);
  }

  /** After the run is stored: its webhook subscription (a run that has already ended gets its delivery at once). */
  async started(runId: string, prepared: Prepared): Promise<void> {
    if (prepared.webhook) await this.webhooks!.subscribe(runId, prepared.webhook);
  }

  private async checkWebhook(url: string): Promise<string> {
    if (!this.webhooks) throw new AppError('bad_request', 'webhook refused: webhooks are not available on this server', { issues: [{ path: ['webhook'], message: 'not available' }] });
    return this.webhooks.check(url);
  }

  private async cancel(id: string, reason: CancelReason): Promise<void> {
    if (this.runtime.cancel(id, reason)) return;
    await this.cluster?.requestCancel(id, reason);
  }

  /** Until the run has stored its end (here or on another instance), at most ROLLBACK_WAIT_MS. */
  private async settled(id: string): Promise<void> {
    const live = this.runtime.get(id);
    if (live) {
      await live.done;
      return;
    }
    try {
      // Only the end matters: follow from the last stored event on.
      const after = await this.store.eventLog.lastSeq(id);
      for await (const _ of runEvents(this.runtime, this.store, id, after, AbortSignal.timeout(ROLLBACK_WAIT_MS)));
    } catch {
      /* still ending: only the runs that have ended are rolled back */
    }
  }
}
