import type { Logger } from 'pino';
import type { PendingInputs, RunStatus, ToolCall, Usage } from '../../contracts/common.js';
import { DEFAULT_TIMEOUT_MS } from '../../contracts/run.js';
import type { Agent } from '../agents.js';
import { AppError } from '../errors.js';
import { newId } from '../ids.js';
import type { NewMessage } from '../store/messages.js';
import { interruptedEvent } from '../store/cluster.js';
import { SEQ_BLOCK } from '../store/runs.js';
import type { Access, ActiveCap, Begun, Store } from '../store/store.js';
import type { MessageParam } from '@anthropic-ai/sdk/resources/messages/messages';
import { runAgentLoop, settlePending, UsageMeter, type ClientTool, type LoopContext, type LoopResult } from './agent-loop.js';
import { fitsAsIs } from './context.js';
import { EarlyCall, requestSetup } from './model-request.js';
import { toModelMessages } from './history.js';
import { LiveRun } from './live-run.js';
import type { ModelClientSource } from './model-source.js';
import { NOOP_OBSERVER, type RunObserver, type RunScope } from './observer.js';
import { ThreadLocks, type ThreadTurns } from './thread-lock.js';
import type { ToolRegistry } from './tools/registry.js';

export interface StartRun {
  agentId: string;
  /** Who starts it: a new thread becomes theirs; an existing one must be (or they are an admin). */
  access: Access;
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
  /** The starting request's trace context (Principal.trace), when traced. */
  trace?: unknown;
  /** The caller's concurrency limit, checked where the run is stored. */
  cap?: ActiveCap;
  /** Multitask `reject`: 409 `thread_busy` when the thread has a queued or running run (decided where the run is stored). */
  exclusive?: boolean;
}

/** Inputs for a waiting run: decisions on its approvals, results of its client tool calls. */
export interface RunInputs {
  decisions?: Array<{ approval_id: string; approved: boolean; reason?: string }>;
  tool_results?: Array<{ tool_call_id: string; output: string; is_error?: boolean }>;
  /** New turns appended after the tool results (e.g. a user message sent with the decision). */
  messages?: NewMessage[];
  /** Client tools offered to the model from here on (AG-UI / AI SDK requests list them again). */
  clientTools?: ClientTool[];
  context?: string;
  extraTools?: string[];
  /** Replaces the thread's state before the run goes on (AG-UI `state`). */
  state?: unknown;
}

/** One run's execution: what `Runtime.execute` needs, new or resumed. */
interface Execution {
  run: LiveRun;
  /** Its place in the thread's queue. */
  turn: Promise<() => void>;
  agent: Agent;
  client: ModelClientSource;
  /** New turns to append once the thread is the run's. */
  input: NewMessage[];
  req: Omit<StartRun, 'access'>;
  /** Stored already begun (start's fast path); else it begins once it has the thread. */
  begun?: Begun;
  /** Its first model call, sent already with `begun`'s history. */
  early?: EarlyCall;
  /** A waiting run going on: what it waited for, and the tool calls it made before. */
  resumed?: { pending: PendingInputs; toolCalls: ToolCall[]; usage?: Usage };
}

/** Why a run's signal was aborted; decides its final status. */
export type AbortReason = CancelReason | 'timeout' | 'shutdown';
/** How a run was asked to stop: a plain cancel, or by a newer run (multitask `interrupt` / `rollback`); each ends `cancelled`. */
export type CancelReason = 'cancel' | 'interrupt' | 'rollback';
export const CANCEL_REASONS: readonly CancelReason[] = ['cancel', 'interrupt', 'rollback'];
/** The stop_reason a cancelled run gets, by why it was cancelled. */
const CANCEL_STOP_REASON: Record<CancelReason, string> = { cancel: 'cancelled', interrupt: 'interrupted', rollback: 'rolled_back' };

export interface RuntimeDeps {
  store: Store;
  agents: Map<string, Agent>;
  tools: ToolRegistry;
  /** The model client, made on first use (none: no credentials configured, runs answer 503). */
  client: ModelClientSource | null;
  logger: Logger;
  toolTimeoutMs: number;
  instanceId: string;
  /** Per-thread turns shared by several instances (PostgreSQL); without it the in-process queue alone. */
  turns?: ThreadTurns;
  /** Metrics and traces (src/observability); none: not observed. */
  observer?: RunObserver;
  /** After a stretch's end is stored (final status or `waiting`), before its `done` resolves: completion webhooks. Never fails the run. */
  onEnded?: (runId: string, status: RunStatus) => Promise<void>;
}

/** The one runtime every route uses: starts runs, queues them per thread, cancels, drains. */
export class Runtime {
  private readonly live = new Map<string, LiveRun>();
  private readonly locks = new ThreadLocks();
  private accepting = true;
  /** Each live stretch's observation (metrics, spans). */
  private readonly scopes = new WeakMap<LiveRun, RunScope>();
  /**
   * Client-named threads whose first start is between its plan and its commit: a start queued
   * behind it stores nothing before that commit, so the thread and the first run are the first
   * request's (as when its commit came at once), and `reject` or a foreign principal see them.
   */
  private readonly planning = new Map<string, Promise<void>>();

  constructor(private readonly deps: RuntimeDeps) {}

  private get observer(): RunObserver {
    return this.deps.observer ?? NOOP_OBSERVER;
  }

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
    const client = this.modelClient();

    const unknownTool = req.extraTools?.find((n) => !this.deps.tools.get(n));
    if (unknownTool) throw new AppError('internal', `extra tool "${unknownTool}" is not registered`);
    const messages = [...(req.prompt !== undefined ? [{ role: 'user' as const, content: [{ type: 'text', text: req.prompt }] }] : []), ...(req.messages ?? [])];
    const runId = req.runId ?? newId('run');
    const threadId = req.threadId ?? newId('thread');
    const timeoutMs = req.timeoutMs ?? agent.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const run = this.newLiveRun(runId, threadId, agent.id);
    const { turns, store } = this.deps;
    // Several instances (PostgreSQL): with no run of the thread here, the database decides in the
    // commit that stores the run whether it may begin at once (Store.startRun, `ifFree`).
    const askDatabase = turns !== undefined && this.locks.depth(threadId) === 0;
    // Else take the place in the thread's queue before any await, so arrival order is run order.
    const queued = askDatabase ? undefined : this.takeTurn(run);
    // The thread was free and only this process queues on it: the run is stored already begun.
    const free = !turns && this.locks.depth(threadId) === 1;
    let begun: Begun | undefined;
    let early: EarlyCall | undefined;
    try {
      if (req.runId && (this.live.has(runId) || (await store.runs.get(runId)))) throw new AppError('conflict', `run "${runId}" already exists`);
      const traceId = this.observer.traceId(req.trace);
      const input = { messages, ...(traceId ? { trace_id: traceId } : {}), ...(req.clientTools?.length ? { client_tools: req.clientTools } : {}), ...(req.context ? { context: req.context } : {}), ...(req.extraTools?.length ? { extra_tools: req.extraTools } : {}) };
      const record = { id: runId, thread_id: threadId, agent_id: agent.id, origin: req.origin, input, timeout_ms: timeoutMs, owner: this.deps.instanceId, created_at: new Date().toISOString() };
      if (free || askDatabase) ({ begun, early } = await this.storeBegun(record, req, messages, agent, client, run.signal, askDatabase));
      else {
        await this.planning.get(threadId);
        await store.createRun(record, req.access, req.cap, req.exclusive);
      }
    } catch (err) {
      // Aborts the early call too: nothing was stored, nothing is asked.
      run.controller.abort('cancel');
      if (queued) void queued.then((release) => release(), () => {});
      throw err;
    }
    // Asked the database: stored running, only the in-process lock is left; stored queued, the database queue.
    const turn = queued ?? (begun ? turns!.claimed(run, this.locks) : this.takeTurn(run));
    this.launch(run, timeoutMs, false, req.origin, req.trace, () => this.execute({ run, turn, agent, client, input: messages, req, begun, early }));
    return run;
  }

  /**
   * Stores the run already begun. A new thread's history is this run's input, so its start is
   * planned (Store.planStart) and its first model call goes before the commit; else, or when that
   * commit fails (nothing was stored: the thread or an id was taken meanwhile), the checked
   * startRun decides. Not planned: a thread the client named when instances share the database,
   * since several may start it at once and every one but the first would ask the model for nothing.
   */
  private async storeBegun(record: StartRecord, req: StartRun, messages: NewMessage[], agent: Agent, client: ModelClientSource, signal: AbortSignal, askDatabase: boolean): Promise<{ begun?: Begun; early?: EarlyCall }> {
    const { store, turns, logger } = this.deps;
    const named = req.threadId !== undefined;
    let planned: (() => void) | undefined;
    if (named && !turns) this.planning.set(record.thread_id, new Promise<void>((resolve) => (planned = resolve)));
    try {
      const plan = !named || !turns ? await store.planStart(record, req.access, messages, { state: req.state, cap: req.cap, named }) : null;
      const early = plan ? await this.sendEarly(withExtraTools(agent, req.extraTools), client, toModelMessages(plan.begun.history), req, signal) : undefined;
      const t0 = performance.now();
      const committed = plan && (await plan.commit().then(() => true, (err) => void logger.debug({ err, runId: record.id }, "a new thread's start did not commit; starting it the checked way")));
      if (committed) {
        this.observer.commit('startRun', (performance.now() - t0) / 1000);
        return { begun: plan.begun, early };
      }
      early?.discard();
      const begun = (await store.startRun(record, req.access, messages, { state: req.state, cap: req.cap, exclusive: req.exclusive, ifFree: askDatabase })) ?? undefined;
      this.observer.commit('startRun', (performance.now() - t0) / 1000);
      return { begun };
    } finally {
      if (planned) {
        this.planning.delete(record.thread_id);
        planned();
      }
    }
  }

  /**
   * A new thread's first model call, sent before its start is committed, so the model's wait
   * overlaps the commit (EarlyCall). Not when compaction might change the messages first.
   */
  private async sendEarly(agent: Agent, client: ModelClientSource, messages: MessageParam[], req: StartRun, signal: AbortSignal): Promise<EarlyCall | undefined> {
    const setup = requestSetup(agent, this.deps.tools, req.clientTools ?? [], req.context);
    if (!fitsAsIs(agent, setup.fixedTokens, messages)) return undefined;
    const call = new EarlyCall(await client(), setup, messages, signal);
    // The SDK prepares the request over a few awaits: it is written before the commit, which on
    // SQLite holds the thread until it is done.
    await new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
    return call;
  }

  private modelClient(): ModelClientSource {
    if (!this.deps.client) throw new AppError('unavailable', 'no model credentials configured: set ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN');
    return this.deps.client;
  }

  /**
   * `base`: seq of the last event already stored (a resumed run goes on from there). Its row
   * reserves seqs up to `base + SEQ_BLOCK` already (created so, or moved there by claimWaiting).
   */
  private newLiveRun(runId: string, threadId: string, agentId: string, base = 0): LiveRun {
    const { store, logger } = this.deps;
    return new LiveRun(runId, threadId, agentId, (e) => store.events.push(runId, e.seq, e.json), base, {
      reserved: base + SEQ_BLOCK,
      block: SEQ_BLOCK,
      extend: (upTo) => store.runs.reserveSeq(runId, upTo),
      lost: (seq) => {
        logger.error({ runId, seq }, 'could not reserve event seqs for the run (taken over, or the database is unreachable); stopping it here');
        return interruptedEvent();
      },
    });
  }

  /** The run's place in its thread's queue: across instances when they share the database, else in this process. */
  private takeTurn(run: LiveRun): Promise<() => void> {
    return this.deps.turns?.acquire(run, this.locks) ?? this.locks.acquire(run.threadId, run.signal);
  }

  /** Registers the run, arms its timeout, announces it and executes it in the background. */
  private launch(run: LiveRun, timeoutMs: number, resumed: boolean, origin: string, parent: unknown, execute: () => Promise<void>): void {
    const scope = this.observer.run({ runId: run.runId, threadId: run.threadId, agentId: run.agentId, origin, resumed, parent });
    this.scopes.set(run, scope);
    this.live.set(run.runId, run);
    const timer = setTimeout(() => run.controller.abort('timeout' satisfies AbortReason), timeoutMs);
    run.emit({ type: 'run.started', run_id: run.runId, thread_id: run.threadId, agent_id: run.agentId, ...(resumed ? { resumed: true } : {}) });
    void execute().finally(() => clearTimeout(timer));
  }

  /** Aborts an active run of this process; false when it is not active here. */
  cancel(runId: string, reason: CancelReason = 'cancel'): boolean {
    const run = this.live.get(runId);
    if (!run || run.ended) return false;
    run.controller.abort(reason satisfies AbortReason);
    return true;
  }

  private async execute({ run, turn, agent, client, input, req, begun, early, resumed }: Execution): Promise<void> {
    const { store, logger } = this.deps;
    // Each call's usage is stored as the call ends, not only with the run's end: a run that fails
    // or dies with its instance has still spent those tokens, and budgets see them within one
    // flush. It goes with the run's next stored events, so it costs no commit of its own.
    const meter = new UsageMeter((u, step) => this.recordUsage(run.runId, agent.model, step, u));
    // A resumed run's usage goes on from what it had spent before it waited.
    if (resumed?.usage) Object.assign(meter.total, resumed.usage);
    let result: LoopResult | undefined;
    let failure: unknown;
    let release: (() => void) | undefined;
    try {
      release = await turn;
      this.scopes.get(run)?.began();
      // Appended only once the thread is ours, so concurrent runs' turns never interleave.
      const { state, history, compaction, context } = begun ?? (await store.beginRun(run.runId, run.threadId, resumed ? [] : input, req.state));
      if (state !== null) run.emit({ type: 'state.snapshot', state });
      const ctx: LoopContext = {
        runId: run.runId,
        threadId: run.threadId,
        agent: withExtraTools(agent, req.extraTools),
        client: await client(),
        tools: this.deps.tools,
        toolTimeoutMs: this.deps.toolTimeoutMs,
        messages: early?.messages ?? toModelMessages(history, compaction?.summary),
        clientTools: req.clientTools ?? [],
        context: req.context,
        signal: run.signal,
        emit: (e, urgent) => run.emit(e, urgent),
        save: async (m) => void (await store.messages.append(run.threadId, run.runId, [m])),
        // A resumed run goes on counting its steps (one stored assistant turn per step; a compaction may have summarised some).
        firstStep: resumed ? 1 + (await store.messages.ofRun(run.threadId, run.runId)).filter((m) => m.role === 'assistant').length : 1,
        observe: this.scopes.get(run),
        early,
        thread: {
          history,
          context,
          load: () => store.context.load(run.threadId),
          compact: (c, through) => store.compact(c, through),
        },
      };
      let earlier: ToolCall[] = [];
      if (resumed) {
        // History was read with the open calls unanswered: read it again once their results are stored.
        earlier = [...resumed.toolCalls, ...(await settlePending(ctx, resumed.pending))];
        if (input.length) await store.messages.appendNew(run.threadId, run.runId, input);
        const now = await store.context.load(run.threadId);
        ctx.messages = toModelMessages(now.turns, now.compaction?.summary);
        ctx.thread = { ...ctx.thread!, history: now.turns };
      }
      result = await runAgentLoop(ctx, meter);
      if (earlier.length) result.tool_calls = [...earlier, ...result.tool_calls];
    } catch (err) {
      failure = err;
    }
    // Not taken: the loop never got to its first call.
    early?.discard();
    await this.finish(run, result, failure, meter.total).catch((err) => logger.error({ err, runId: run.runId }, 'could not store the end of a run'));
    // The thread is released once the run's last turn is stored, so the next run's history has it.
    release?.();
  }

  /** Stores one model call's usage, with the run's next events (the event writer reports a failed write). */
  private recordUsage(runId: string, model: string, step: number, u: Usage): void {
    if (!u.input_tokens && !u.output_tokens && !u.cache_read_input_tokens && !u.cache_creation_input_tokens) return;
    this.deps.store.recordUsage(runId, model, step, u);
  }

  /**
   * Inputs for a `waiting` run. They are stored as they come; once every approval is decided
   * and every client tool call has its result, the run continues (same id, events go on from
   * the next seq) and this returns its live handle. 404 unknown run or approval/tool call id,
   * 409 when the run is not waiting.
   */
  async resume(runId: string, inputs: RunInputs, opts: { origin?: string; complete?: boolean; trace?: unknown } = {}): Promise<{ pending: PendingInputs; run?: LiveRun }> {
    if (!this.accepting) throw new AppError('unavailable', 'the server is shutting down');
    const { store } = this.deps;
    const record = await store.runs.get(runId);
    if (!record) throw new AppError('not_found', `unknown run "${runId}"`);
    if (record.status !== 'waiting' || !record.pending) throw new AppError('conflict', `run "${runId}" is not waiting for input (status ${record.status})`);
    const pending: PendingInputs = structuredClone(record.pending);
    for (const d of inputs.decisions ?? []) {
      const a = pending.approvals.find((x) => x.approval_id === d.approval_id);
      if (!a) throw new AppError('not_found', `run "${runId}" has no approval "${d.approval_id}"`);
      a.decision = { approved: d.approved, ...(d.reason ? { reason: d.reason } : {}) };
    }
    for (const t of inputs.tool_results ?? []) {
      const c = pending.client_tool_calls.find((x) => x.tool_call_id === t.tool_call_id);
      if (!c) throw new AppError('not_found', `run "${runId}" is not waiting for tool call "${t.tool_call_id}"`);
      c.result = { output: t.output, is_error: t.is_error ?? false };
    }
    const open = [...pending.approvals.filter((a) => !a.decision), ...pending.client_tool_calls.filter((c) => !c.result)];
    if (open.length && opts.complete) {
      // Protocols whose one request must settle the turn: refuse it whole, nothing stored.
      const missing = open.map((x) => `${x.name} (${x.tool_call_id})`).join(', ');
      throw new AppError('bad_request', `every pending approval needs a response and every client tool call its result; missing: ${missing}`, { issues: [{ path: ['messages'], message: `missing: ${missing}` }] });
    }
    if (open.length) {
      if (!(await store.runs.savePending(runId, pending))) throw new AppError('conflict', `run "${runId}" is no longer waiting`);
      return { pending };
    }
    const agent = this.deps.agents.get(record.agent_id);
    if (!agent) throw new AppError('conflict', `run "${runId}" belongs to agent "${record.agent_id}", which is no longer configured`);
    const client = this.modelClient();
    // Its events were all stored before it became `waiting` (finishRun flushes first): it goes on after the last one.
    const base = await store.runs.claimWaiting(runId, pending, this.deps.instanceId);
    if (base === null) throw new AppError('conflict', `run "${runId}" is no longer waiting`);
    const run = this.newLiveRun(runId, record.thread_id, agent.id, base);
    const turn = this.takeTurn(run);
    // Unless the caller says otherwise, the run goes on with the tools and context it started with.
    const first = record.input as { client_tools?: ClientTool[]; context?: string; extra_tools?: string[] };
    const req: Omit<StartRun, 'access'> = {
      agentId: agent.id,
      threadId: record.thread_id,
      origin: opts.origin ?? record.origin,
      clientTools: inputs.clientTools ?? first.client_tools,
      context: inputs.context ?? first.context,
      extraTools: (inputs.extraTools ?? first.extra_tools)?.filter((n) => this.deps.tools.get(n)),
      ...(inputs.state !== undefined ? { state: inputs.state } : {}),
    };
    this.launch(run, record.timeout_ms, true, req.origin, opts.trace, () =>
      this.execute({ run, turn, agent, client, input: inputs.messages ?? [], req, resumed: { pending, toolCalls: record.tool_calls ?? [], usage: record.usage ?? undefined } }),
    );
    return { pending, run };
  }

  private async finish(run: LiveRun, result: LoopResult | undefined, failure: unknown, usage: Usage): Promise<void> {
    const { store } = this.deps;
    const reason = run.signal.aborted ? (run.signal.reason as AbortReason) : undefined;
    let status: RunStatus;
    let error: { code: string; message: string } | null = null;
    if (result && !reason) {
      status = result.waiting ? 'waiting' : 'completed';
    } else if (reason === 'cancel' || reason === 'interrupt' || reason === 'rollback') {
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
    const cancelReason = status === 'cancelled' ? (reason as CancelReason) : undefined;
    const end = {
      status,
      stop_reason: status === 'completed' || status === 'waiting' ? (result?.stop_reason ?? null) : cancelReason ? CANCEL_STOP_REASON[cancelReason] : null,
      // An interrupted run keeps what it produced: the text its last step had streamed.
      output: result?.output ?? (cancelReason === 'interrupt' ? streamedText(run) : ''),
      usage,
      tool_calls: result?.tool_calls ?? [],
      error,
      pending: status === 'waiting' ? (result?.pending ?? null) : null,
    };
    run.emit(
      error
        ? { type: 'run.error', status, code: error.code, message: error.message, usage }
        : { type: 'run.finished', status, output: end.output, stop_reason: end.stop_reason, usage, tool_calls: end.tool_calls },
    );
    try {
      // Held events (past the reservation) are stored before the end, or the run lost its reservation:
      // then its row is (or will be) closed by recovery, after the reserved range.
      await run.published();
      if (!run.lost) {
        const t0 = performance.now();
        await store.finishRun(run.runId, run.threadId, end, result?.lastTurn ? [result.lastTurn] : [], result?.contextTokens);
        this.observer.commit('finishRun', (performance.now() - t0) / 1000);
      }
      this.deps.logger.debug({ runId: run.runId, status }, 'run finished');
      if (!run.lost && this.deps.onEnded) await this.deps.onEnded(run.runId, status).catch((err) => this.deps.logger.warn({ err, runId: run.runId }, 'could not record the webhook delivery of a run'));
    } finally {
      this.scopes.get(run)?.finished(status);
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

/** The text the run's last step streamed (its events of this stretch after the last `step.started`). */
function streamedText(run: LiveRun): string {
  let out = '';
  for (const { event } of run.events) {
    if (event.type === 'step.started') out = '';
    else if (event.type === 'text.delta') out += event.delta;
  }
  return out;
}

function describeFailure(err: unknown): { code: string; message: string } {
  if (err instanceof AppError) return { code: err.code, message: err.message };
  return { code: 'internal', message: 'internal error while running the agent' };
}

/** The run row `Runtime.start` stores. */
type StartRecord = Parameters<Store['startRun']>[0];

/** The agent with the run's extra tools (e.g. the state tools of AG-UI runs). */
function withExtraTools(agent: Agent, extraTools: string[] | undefined): Agent {
  return extraTools?.length ? { ...agent, tools: [...new Set([...agent.tools, ...extraTools])] } : agent;
}
