import type { Run, ListRunsInput, RunInputsRequest, RunInputsResult, StartRunRequest } from '../../contracts/runs.js';
import type { RunRequest, RunResult } from '../../contracts/run.js';
import { DEFAULT_AGENT_ID } from '../agents.js';
import { AppError } from '../errors.js';
import { leanResult } from '../protocols/lean/mapper.js';
import type { Cluster } from '../cluster/cluster.js';
import type { LiveRun } from '../runtime/live-run.js';
import type { Runtime } from '../runtime/runtime.js';
import { ACTIVE_STATUSES, type RunRecord } from '../store/runs.js';
import type { Store } from '../store/store.js';
import { runEvents, type StreamedEvent } from './run-events.js';

/** Runs: listing, reading, starting, streaming and cancelling, for every API surface. */
export class RunService {
  constructor(
    private readonly runtime: Runtime,
    private readonly store: Store,
    /** Reaches runs executing in other instances (cancel); without it only this process's runs. */
    private readonly cluster?: Cluster,
  ) {}

  async list(input: ListRunsInput): Promise<{ items: Run[]; next_cursor: string | null }> {
    return this.store.runs.page({
      limit: input.limit,
      cursor: input.cursor,
      threadId: input.thread_id,
      agentId: input.agent_id,
      status: input.status,
      origin: input.origin,
      createdAfter: input.created_after,
      createdBefore: input.created_before,
    });
  }

  async get(id: string): Promise<RunRecord> {
    const run = await this.store.runs.get(id);
    if (!run) throw new AppError('not_found', `unknown run "${id}"`);
    return run;
  }

  start(req: StartRunRequest, origin: string): Promise<LiveRun> {
    return this.runtime.start({ agentId: req.agent_id ?? DEFAULT_AGENT_ID, threadId: req.thread_id, prompt: req.prompt, timeoutMs: req.timeout_ms, origin });
  }

  /** A lean API request (a prompt on a session) started as a run. */
  startSession(req: RunRequest, origin: string): Promise<LiveRun> {
    return this.runtime.start({ agentId: req.agent_id ?? DEFAULT_AGENT_ID, threadId: req.session_id, prompt: req.prompt, timeoutMs: req.timeout_ms, origin });
  }

  /** The lean API's blocking call: the result, or the AppError its terminal event stands for. */
  async runToEnd(req: RunRequest, origin: string): Promise<RunResult> {
    const run = await this.startSession(req, origin);
    await run.done;
    return leanResult(run.events[run.events.length - 1].event, run.threadId, run.runId);
  }

  /** Events after `after` (stored, then live), ending with the terminal event. */
  events(id: string, after: number, signal?: AbortSignal): AsyncGenerator<StreamedEvent> {
    return runEvents(this.runtime, this.store, id, after, signal);
  }

  /** 404 unless the run exists (checked before a stream's headers go out). */
  async assertExists(id: string): Promise<void> {
    if (!this.runtime.get(id)) await this.get(id);
  }

  /**
   * 202-style: the run is told to stop and ends `cancelled`, whichever instance executes it;
   * 409 when it is not queued or running anywhere.
   */
  async cancel(id: string): Promise<{ run_id: string; status: 'cancelling' }> {
    if (this.runtime.cancel(id)) return { run_id: id, status: 'cancelling' };
    const run = await this.get(id);
    if (!ACTIVE_STATUSES.includes(run.status)) throw new AppError('conflict', `run "${id}" is not active (status ${run.status})`);
    if (!this.cluster) throw new AppError('conflict', `run "${id}" is ${run.status} in another server instance; cancel it there`);
    if (await this.cluster.requestCancel(id)) return { run_id: id, status: 'cancelling' };
    throw new AppError('conflict', `run "${id}" is not active (it has just ended)`);
  }

  /** Decisions / client tool results for a waiting run; it continues once every input is in. */
  async inputs(id: string, body: RunInputsRequest): Promise<RunInputsResult> {
    const { pending, run } = await this.runtime.resume(id, body);
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
