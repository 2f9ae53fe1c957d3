import type { Logger } from 'pino';
import type { RunStatus, Usage } from '../../contracts/common.js';
import { DEFAULT_TIMEOUT_MS } from '../../contracts/run.js';
import type { Agent } from '../agents.js';
import { AppError } from '../errors.js';
import { newId } from '../ids.js';
import type { NewMessage } from '../store/messages.js';
import type { Store } from '../store/store.js';
import { runAgentLoop, UsageMeter, type ClientTool, type LoopResult } from './agent-loop.js';
import { toModelMessages } from './history.js';
import { LiveRun } from './live-run.js';
import type { ModelClient } from './model.js';
import { ThreadLocks } from './thread-lock.js';
import type { ToolRegistry } from './tools/registry.js';

export interface StartRun {
  agentId: string;
  threadId?: string;
  /** A caller-chosen run id (AG-UI sends one); 409 if it is taken. */
  runId?: string;
  /** Shorthand for one user text turn. */
  prompt?: string;
  /**
   * New turns to append before the model is called, in Anthropic's shape. A turn
   * whose id is already in the thread is skipped, so clients that resend their
   * whole history never duplicate it.
   */
  messages?: NewMessage[];
  /** Tools the client executes: when the model calls one the run ends `waiting`. */
  clientTools?: ClientTool[];
  /** Extra system text for this run only (e.g. AG-UI `context`). */
  context?: string;
  /**
   * Replaces the thread's shared state before the run (AG-UI `state`); null clears it.
   * Whenever the thread has state, the run emits `state.snapshot` before its first step.
   */
  state?: unknown;
  /** Registered server tools offered on this run on top of the agent's own (e.g. the state tools on AG-UI runs). */
  extraTools?: string[];
  timeoutMs?: number;
  /** Which surface started it (api, stream, trpc, ag-ui, ai-sdk, a2a). */
  origin: string;
}

/** Why a run's signal was aborted; decides its final status. */
export type AbortReason = 'cancel' | 'timeout' | 'shutdown';

export interface RuntimeDeps {
  store: Store;
  agents: Map<string, Agent>;
  tools: ToolRegistry;
  client: ModelClient | null;
  logger: Logger;
  toolTimeoutMs: number;
  instanceId: string;
}

/** The one runtime every route uses: starts runs, queues them per thread, cancels, drains. */
export class Runtime {
  private readonly live = new Map<string, LiveRun>();
  private readonly locks = new ThreadLocks();
  private accepting = true;

  constructor(private readonly deps: RuntimeDeps) {}

  get agents(): Map<string, Agent> {
    return this.deps.agents;
  }

  get activeRuns(): number {
    return this.live.size;
  }

  /** The live run in this process, if it is still active. */
  get(runId: string): LiveRun | undefined {
    return this.live.get(runId);
  }

  /** Validates, stores the run as queued, and starts it in the background. */
  async start(req: StartRun): Promise<LiveRun> {
    if (!this.accepting) throw new AppError('unavailable', 'the server is shutting down');
    const agent = this.deps.agents.get(req.agentId);
    if (!agent) throw new AppError('not_found', `unknown agent "${req.agentId}"`);
    const client = this.deps.client;
    if (!client) throw new AppError('unavailable', 'no model credentials configured: set ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN');

    const unknownTool = req.extraTools?.find((n) => !this.deps.tools.get(n));
    if (unknownTool) throw new AppError('internal', `extra tool "${unknownTool}" is not registered`);
    const messages = [...(req.prompt !== undefined ? [{ role: 'user' as const, content: [{ type: 'text', text: req.prompt }] }] : []), ...(req.messages ?? [])];
    const runId = req.runId ?? newId('run');
    const threadId = req.threadId ?? newId('thread');
    const timeoutMs = req.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const run = new LiveRun(runId, threadId, agent.id, (e) => this.deps.store.events.push(runId, e.seq, e.event.type, e.json));
    // Take the place in the thread's queue before any await, so arrival order is run order.
    const turn = this.locks.acquire(threadId, run.signal);
    try {
      if (req.runId && (this.live.has(runId) || (await this.deps.store.runs.get(runId)))) throw new AppError('conflict', `run "${runId}" already exists`);
      const input = { messages, ...(req.clientTools?.length ? { client_tools: req.clientTools } : {}), ...(req.context ? { context: req.context } : {}) };
      await this.deps.store.createRun({ id: runId, thread_id: threadId, agent_id: agent.id, origin: req.origin, input, timeout_ms: timeoutMs, owner: this.deps.instanceId, created_at: new Date().toISOString() });
    } catch (err) {
      run.controller.abort('cancel');
      void turn.then((release) => release(), () => {});
      throw err;
    }
    this.live.set(runId, run);
    const timer = setTimeout(() => run.controller.abort('timeout' satisfies AbortReason), timeoutMs);
    run.emit({ type: 'run.started', run_id: runId, thread_id: threadId, agent_id: agent.id });
    void this.execute(run, turn, agent, client, messages, req).finally(() => clearTimeout(timer));
    return run;
  }

  /** Aborts an active run of this process; false when it is not active here. */
  cancel(runId: string): boolean {
    const run = this.live.get(runId);
    if (!run || run.ended) return false;
    run.controller.abort('cancel' satisfies AbortReason);
    return true;
  }

  private async execute(run: LiveRun, turn: Promise<() => void>, agent: Agent, client: ModelClient, input: NewMessage[], req: StartRun): Promise<void> {
    const { store, logger } = this.deps;
    const meter = new UsageMeter();
    let result: LoopResult | undefined;
    let failure: unknown;
    try {
      const release = await turn;
      try {
        // Appended only once the thread is ours, so concurrent runs' turns never interleave.
        const { state, history } = await store.beginRun(run.runId, run.threadId, input, req.state);
        if (state !== null) run.emit({ type: 'state.snapshot', state });
        result = await runAgentLoop(
          {
            runId: run.runId,
            threadId: run.threadId,
            agent: req.extraTools?.length ? { ...agent, tools: [...new Set([...agent.tools, ...req.extraTools])] } : agent,
            client,
            tools: this.deps.tools,
            toolTimeoutMs: this.deps.toolTimeoutMs,
            messages: toModelMessages(history),
            clientTools: req.clientTools ?? [],
            context: req.context,
            signal: run.signal,
            emit: (e) => run.emit(e),
            save: async (m) => void (await store.messages.append(run.threadId, run.runId, [m])),
          },
          meter,
        );
      } finally {
        release();
      }
    } catch (err) {
      failure = err;
    }
    await this.finish(run, result, failure, meter.total).catch((err) => logger.error({ err, runId: run.runId }, 'could not store the end of a run'));
  }

  private async finish(run: LiveRun, result: LoopResult | undefined, failure: unknown, usage: Usage): Promise<void> {
    const { store } = this.deps;
    const reason = run.signal.aborted ? (run.signal.reason as AbortReason) : undefined;
    let status: RunStatus;
    let error: { code: string; message: string } | null = null;
    if (result && !reason) {
      status = result.waiting ? 'waiting' : 'completed';
    } else if (reason === 'cancel') {
      status = 'cancelled';
    } else if (reason === 'timeout') {
      status = 'timed_out';
      error = { code: 'timeout', message: 'the run exceeded its timeout' };
    } else if (reason === 'shutdown') {
      status = 'interrupted';
      error = { code: 'interrupted', message: 'the server shut down before the run finished' };
    } else {
      status = 'failed';
      error = describeFailure(failure);
      if (error.code === 'internal') this.deps.logger.error({ err: failure, runId: run.runId }, 'run failed');
    }
    const end = {
      status,
      stop_reason: status === 'completed' || status === 'waiting' ? (result?.stop_reason ?? null) : status === 'cancelled' ? 'cancelled' : null,
      output: result?.output ?? '',
      usage,
      tool_calls: result?.tool_calls ?? [],
      error,
    };
    run.emit(
      error
        ? { type: 'run.error', status, code: error.code, message: error.message, usage }
        : { type: 'run.finished', status, output: end.output, stop_reason: end.stop_reason, usage, tool_calls: end.tool_calls },
    );
    try {
      await store.finishRun(run.runId, run.threadId, end);
    } finally {
      this.live.delete(run.runId);
      run.markDone();
    }
  }

  /** Stop taking runs, give active ones `graceMs` to finish, then interrupt the rest. */
  async shutdown(graceMs: number): Promise<void> {
    this.accepting = false;
    const pending = () => [...this.live.values()].map((r) => r.done);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(pending()), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    for (const run of this.live.values()) run.controller.abort('shutdown' satisfies AbortReason);
    await Promise.all(pending());
    await this.deps.store.events.flush();
  }
}

function describeFailure(err: unknown): { code: string; message: string } {
  if (err instanceof AppError) return { code: err.code, message: err.message };
  return { code: 'internal', message: 'internal error while running the agent' };
}
