import type { Run, ListRunsInput, RunInputsRequest, RunInputsResult, StartRunRequest } from '../../contracts/runs.js';
import type { MultitaskStrategy } from '../../contracts/run.js';
import type { RunRequest } from '../../contracts/run.js';
import type { RunStatus } from '../../contracts/common.js';
import { DEFAULT_AGENT_ID } from '../agents.js';
import { AppError } from '../errors.js';
import type { Cluster } from '../cluster/cluster.js';
import type { LiveRun } from '../runtime/live-run.js';
import type { Runtime } from '../runtime/runtime.js';
import type { StoredEvent } from '../store/events.js';
import type { StoredMessage } from '../store/messages.js';
import { ACTIVE_STATUSES, type RunRecord } from '../store/runs.js';
import type { Store } from '../store/store.js';
import { canSee, ownerFilter, visibleRun, type Principal } from './access.js';
import type { LimitService } from './limits.js';
import type { UsageService } from './usage.js';
import { runEvents, FOLLOW_FALLBACK_MS, type StreamedEvent } from './run-events.js';
import { RunStarts } from './run-starts.js';
import { toRun } from './run-view.js';
import type { WebhookService } from './webhooks.js';

/**
 * Runs: listing, reading, starting, streaming and cancelling, for every API surface. Every
 * method takes the caller; a run of another principal is 404 exactly like an unknown one.
 */
export class RunService {
  constructor(
    private readonly runtime: Runtime,
    private readonly store: Store,
    /** Reaches runs executing in other instances (cancel); without it only this process's runs. */
    private readonly cluster?: Cluster,
    /** Per-principal rate limits and budgets, checked before a run starts (so before any stream opens). */
    private readonly limits?: LimitService,
    /** Completion webhooks (checked at start, shown on the run). */
    private readonly webhooks?: WebhookService,
    /** multitask_strategy and webhooks at every start. */
    private readonly starts: RunStarts = new RunStarts(runtime, store, cluster, webhooks),
    /** The estimated cost on single-run reads. */
    private readonly usage?: UsageService,
  ) {}

  async list(principal: Principal, input: ListRunsInput): Promise<{ items: Run[]; next_cursor: string | null }> {
    const page = await this.store.runs.page({
      principal: ownerFilter(principal, input.owner),
      limit: input.limit,
      cursor: input.cursor,
      threadId: input.thread_id,
      agentId: input.agent_id,
      status: input.status,
      origin: input.origin,
      createdAfter: input.created_after,
      createdBefore: input.created_before,
    });
    return { items: page.items.map(toRun), next_cursor: page.next_cursor };
  }

  async get(principal: Principal, id: string): Promise<RunRecord> {
    return visibleRun(principal, await this.store.runs.get(id), id);
  }

  /** The run as the API shows it, with its webhook deliveries (single-run reads). */
  async read(principal: Principal, id: string): Promise<Run> {
    return this.view(await this.get(principal, id));
  }

  private async view(record: RunRecord): Promise<Run> {
    const run = toRun(record);
    const [webhook, spent] = await Promise.all([this.webhooks?.view(run.id), this.usage?.run(run.thread_id, run.id)]);
    return { ...run, ...(spent ? { cost_usd: spent.cost_usd } : {}), webhook: webhook ?? null };
  }

  async start(principal: Principal, req: Omit<StartRunRequest, 'background'>, origin: string): Promise<LiveRun> {
    return this.launch(principal, { agentId: req.agent_id ?? DEFAULT_AGENT_ID, threadId: req.thread_id, prompt: req.prompt, timeoutMs: req.timeout_ms, strategy: req.multitask_strategy, webhook: req.webhook }, origin);
  }

  /** A lean API request (a prompt on a session) started as a run. */
  async startSession(principal: Principal, req: RunRequest, origin: string): Promise<LiveRun> {
    return this.launch(principal, { agentId: req.agent_id ?? DEFAULT_AGENT_ID, threadId: req.session_id, prompt: req.prompt, timeoutMs: req.timeout_ms, strategy: req.multitask_strategy, webhook: req.webhook }, origin);
  }

  /** The webhook check, the limits (nothing changed when refused), the multitask strategy, then the run. */
  private async launch(
    principal: Principal,
    r: { agentId: string; threadId?: string; prompt: string; timeoutMs?: number; strategy?: MultitaskStrategy; webhook?: string },
    origin: string,
  ): Promise<LiveRun> {
    const prepared = await this.starts.prepare(principal, r, async () => this.limits?.admit(principal));
    const run = await this.runtime.start({ agentId: r.agentId, threadId: r.threadId, prompt: r.prompt, timeoutMs: r.timeoutMs, origin, access: principal, trace: principal.trace, cap: this.limits?.activeCap(principal), exclusive: prepared.exclusive });
    await this.starts.started(run.runId, prepared);
    return run;
  }

  /**
   * Until the run has ended or waits for input — wherever it runs — or `timeoutMs` passed:
   * the run then, and whether the time ran out first.
   */
  async wait(principal: Principal, id: string, timeoutMs: number): Promise<{ timed_out: boolean; run: Run }> {
    const deadline = Date.now() + timeoutMs;
    const watch = this.store.changes.watch(`run:${id}`);
    try {
      for (;;) {
        const seen = watch.version;
        const run = await this.get(principal, id);
        if (!ACTIVE_STATUSES.includes(run.status)) return { timed_out: false, run: await this.view(run) };
        const left = deadline - Date.now();
        if (left <= 0) return { timed_out: true, run: await this.view(run) };
        const live = this.runtime.get(id);
        // Here: its end is stored before `done` resolves. Elsewhere: woken by its events (NOTIFY), with a fallback re-read.
        if (live) await Promise.race([live.done, sleep(left)]);
        else await watch.wait(seen, Math.min(left, FOLLOW_FALLBACK_MS)).catch(() => {});
      }
    } finally {
      watch.close();
    }
  }

  /** The run if `principal` may see it, else undefined (unknown and foreign look the same). */
  async find(principal: Principal, id: string): Promise<RunRecord | undefined> {
    const run = await this.store.runs.get(id);
    return run && canSee(principal, run.principal) ? run : undefined;
  }

  /** The run's stored events after `after` (the log only; `events` also follows live). */
  storedEvents(id: string, after = 0): Promise<StoredEvent[]> {
    return this.store.eventLog.list(id, after);
  }

  /** The turns the run appended to its thread. */
  turnsOf(run: Pick<RunRecord, 'id' | 'thread_id'>): Promise<StoredMessage[]> {
    return this.store.messages.ofRun(run.thread_id, run.id);
  }

  /** The caller's runs (an admin's: all) newest first with a total count, paged by offset. */
  pageByOffset(principal: Principal, opts: { agentId?: string; threadId?: string; statuses?: RunStatus[]; changedSince?: string; limit: number; offset: number }) {
    return this.store.runs.pageByOffset({ ...opts, principal: ownerFilter(principal) });
  }

  /** Events after `after` (stored, then live), ending with the terminal event; 404 for a run the caller may not see. */
  async *events(principal: Principal, id: string, after: number, signal?: AbortSignal): AsyncGenerator<StreamedEvent> {
    await this.get(principal, id);
    yield* runEvents(this.runtime, this.store, id, after, signal);
  }

  /** Events of a run the caller has just started (no access check needed). */
  follow(run: LiveRun, after: number, signal?: AbortSignal): AsyncGenerator<StreamedEvent> {
    return runEvents(this.runtime, this.store, run.runId, after, signal);
  }

  /** 404 unless the run exists and the caller may see it (checked before a stream's headers go out). */
  async assertVisible(principal: Principal, id: string): Promise<void> {
    await this.get(principal, id);
  }

  /**
   * The one cancel rule, on every surface. A queued or running run is told to stop and ends
   * `cancelled`, whichever instance executes it (`cancelling`). A run waiting for input holds
   * nothing anywhere, so it ends `cancelled` at once (`cancelled`). Anything else is 409.
   */
  async cancel(principal: Principal, id: string): Promise<{ run_id: string; status: 'cancelling' | 'cancelled' }> {
    // 404 before anything is cancelled.
    let run = await this.get(principal, id);
    for (let attempt = 0; ; attempt++) {
      if (this.runtime.cancel(id)) return { run_id: id, status: 'cancelling' };
      if (attempt > 0) run = await this.get(principal, id);
      if (run.status === 'waiting') {
        if (await this.store.cancelWaiting(run)) {
          await this.webhooks?.onEnded(id, 'cancelled').catch(() => {});
          return { run_id: id, status: 'cancelled' };
        }
        // It was answered meanwhile and goes on: cancel it as an active run.
        if (attempt < 2) continue;
      }
      if (!ACTIVE_STATUSES.includes(run.status)) throw new AppError('conflict', `run "${id}" is not active (status ${run.status})`);
      if (!this.cluster) throw new AppError('conflict', `run "${id}" is ${run.status} in another server instance; cancel it there`);
      if (await this.cluster.requestCancel(id)) return { run_id: id, status: 'cancelling' };
      throw new AppError('conflict', `run "${id}" is not active (it has just ended)`);
    }
  }

  /** Cancel, then wait (at most `waitMs`) until the run's end is stored, wherever it runs. */
  async cancelAndSettle(principal: Principal, id: string, waitMs: number): Promise<RunRecord> {
    const { status } = await this.cancel(principal, id);
    if (status === 'cancelling') {
      try {
        for await (const _ of this.events(principal, id, 0, AbortSignal.timeout(waitMs)));
      } catch {
        /* still ending: the caller sees the run as it stands */
      }
    }
    return this.get(principal, id);
  }

  /** Decisions / client tool results for a waiting run; it continues once every input is in. */
  async inputs(principal: Principal, id: string, body: RunInputsRequest): Promise<RunInputsResult> {
    await this.get(principal, id);
    // A waiting run that goes on is active again: the caller's budget and concurrency apply.
    await this.limits?.checkResume(principal);
    const { pending, run } = await this.runtime.resume(id, body, { trace: principal.trace });
    return { run_id: id, status: run ? 'resumed' : 'waiting', pending };
  }

  /**
   * Cancels the runs (asking other instances for theirs) and waits until each one active in
   * this process has stored its end.
   */
  async cancelAndWait(ids: string[]): Promise<void> {
    await Promise.all(ids.map(async (id) => (this.runtime.cancel(id) || (await this.cluster?.requestCancel(id)), await this.runtime.get(id)?.done)));
  }

  isLive(id: string): boolean {
    return this.runtime.get(id) !== undefined;
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());
