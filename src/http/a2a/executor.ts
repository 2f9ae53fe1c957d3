import type { RunEvent } from '../../../contracts/events.js';
import { Role, TaskState, type AgentCard, type CancelTaskRequest, type Message, type SendMessageRequest, type StreamResponse, type SubscribeToTaskRequest, type Task } from '@a2a-js/sdk';
import { JsonRpcTransportError, RequestMalformedError, TaskNotCancelableError, TaskNotFoundError, UnsupportedOperationError } from '@a2a-js/sdk/errors';
import {
  AgentEvent,
  DefaultRequestHandler,
  type AgentExecutionEvent,
  type AgentExecutor,
  type ExecutionEventBus,
  type ExecutionEventBusManager,
  type RequestContext,
  type ServerCallContext,
} from '@a2a-js/sdk/server';
import { Id, MultitaskStrategy, TimeoutMs, WebhookUrl } from '../../../contracts/run.js';
import { AppError } from '../../errors.js';
import type { LiveRun } from '../../runtime/live-run.js';
import type { Principal } from '../../auth/principal.js';
import type { Services } from '../../services/index.js';
import { ACTIVE_STATUSES, type RunRecord } from '../../store/runs.js';
import { a2aDecisions, contentFromParts } from '../../protocols/a2a/input.js';
import { userMessageFromContent } from '../../protocols/a2a/history.js';
import { deriveTask, isFinalUpdate, isTerminalState, type A2aEventMapper, type A2aUpdate } from '../../protocols/a2a/mapper.js';
import { principalFrom } from './principal-user.js';
import type { A2aTasks, A2aTaskStore } from './tasks.js';

/** JSON-RPC error code of a refused send (429 over HTTP elsewhere); in the implementation-defined server-error range. */
export const A2A_RATE_LIMITED = -32029;
/** JSON-RPC error code of a send refused under multitask_strategy "reject" (409 `thread_busy` over HTTP elsewhere). */
export const A2A_THREAD_BUSY = -32019;

/** Metadata key (request or message) naming the agent on the server-level endpoint. */
export const AGENT_METADATA_KEY = 'agentId';

export interface A2aEndpoint {
  services: Services;
  tasks: A2aTasks;
  /** The agent of a per-agent endpoint; null for the server-level endpoint. */
  agentId: string | null;
  /** The agent the server-level endpoint uses when none is named. */
  defaultAgentId: string;
}

/** How long a cancel waits for a run on another instance to end before it answers with the task as it is. */
const REMOTE_CANCEL_WAIT_MS = 15_000;

const stamp = (u: A2aUpdate, timestamp?: string): A2aUpdate =>
  u.kind === 'statusUpdate' && u.data.status ? { kind: 'statusUpdate', data: { ...u.data, status: { ...u.data.status, timestamp: timestamp ?? new Date().toISOString() } } } : u;

const toAgentEvent = (u: A2aUpdate): AgentExecutionEvent => (u.kind === 'statusUpdate' ? AgentEvent.statusUpdate(u.data) : AgentEvent.artifactUpdate(u.data));

const toStreamResponse = (u: A2aUpdate): StreamResponse =>
  u.kind === 'statusUpdate' ? { payload: { $case: 'statusUpdate', value: u.data } } : { payload: { $case: 'artifactUpdate', value: u.data } };

/**
 * The run's events after `afterSeq` (live here, or from the log when another instance runs
 * it) as A2A updates. The final status is held until the run is settled in storage, so a
 * client that reads the task right after seeing it finds the same state; `beforeFinal`
 * runs just before it goes out.
 */
async function* follow(ep: A2aEndpoint, principal: Principal, runId: string, afterSeq: number, mapper: A2aEventMapper, beforeFinal?: () => void): AsyncGenerator<A2aUpdate> {
  let final: A2aUpdate | undefined;
  for await (const e of ep.services.runs.events(principal, runId, afterSeq)) {
    for (const u of mapper.map(e.event)) {
      if (isFinalUpdate(u)) final = u;
      else yield stamp(u);
    }
  }
  const stored = await ep.services.runs.find(principal, runId);
  beforeFinal?.();
  // Stamped with the stored end time, so the task read back is the same as the one streamed.
  const last = final ?? mapper.ended ?? (stored ? mapper.final(stored.status, stored.output ?? '', stored.error) : mapper.final('failed', '', { code: 'internal', message: 'the run ended without a result' }));
  yield stamp(last, stored?.finished_at ?? undefined);
}

/** The agent a send goes to: the endpoint's, else the one the metadata names, else the context's, else the default. */
async function pickAgent(ep: A2aEndpoint, principal: Principal, params: SendMessageRequest): Promise<string> {
  if (ep.agentId) return ep.agentId;
  const agents = ep.services.conversations.agents;
  const named = params.metadata?.[AGENT_METADATA_KEY] ?? params.message?.metadata?.[AGENT_METADATA_KEY];
  if (named !== undefined) {
    if (typeof named === 'string' && agents.has(named)) return named;
    throw new RequestMalformedError(`metadata.${AGENT_METADATA_KEY}: unknown agent ${JSON.stringify(named)} (agents: ${[...agents.keys()].join(', ')})`);
  }
  const contextId = params.message?.contextId;
  if (contextId) {
    const thread = await ep.tasks.thread(principal, contextId);
    if (thread && agents.has(thread.agent_id)) return thread.agent_id;
  }
  return ep.defaultAgentId;
}

/** `timeout_ms` in the request's or the message's metadata: the run's timeout (invalid params when it is not a valid one). */
function timeoutOf(params: SendMessageRequest): number | undefined {
  const raw = params.metadata?.timeout_ms ?? params.message?.metadata?.timeout_ms;
  if (raw === undefined) return undefined;
  const r = TimeoutMs.safeParse(raw);
  if (!r.success) throw new RequestMalformedError(`metadata.timeout_ms: ${r.error.issues[0]?.message ?? 'is not valid'}`);
  return r.data;
}

/** `multitask_strategy` and `webhook` in the request's or the message's metadata (invalid params when not valid). */
function startOptionsOf(params: SendMessageRequest): { strategy?: MultitaskStrategy; webhook?: string } {
  const out: { strategy?: MultitaskStrategy; webhook?: string } = {};
  const strategy = params.metadata?.multitask_strategy ?? params.message?.metadata?.multitask_strategy;
  if (strategy !== undefined) {
    const r = MultitaskStrategy.safeParse(strategy);
    if (!r.success) throw new RequestMalformedError(`metadata.multitask_strategy: ${r.error.issues[0]?.message ?? 'is not valid'}`);
    out.strategy = r.data;
  }
  const webhook = params.metadata?.webhook ?? params.message?.metadata?.webhook;
  if (webhook !== undefined) {
    const r = WebhookUrl.safeParse(webhook);
    if (!r.success) throw new RequestMalformedError(`metadata.webhook: ${r.error.issues[0]?.message ?? 'is not valid'}`);
    out.webhook = r.data;
  }
  return out;
}

const checkId = (value: string, what: string) => {
  const r = Id.safeParse(value);
  if (!r.success) throw new RequestMalformedError(`${what} ${JSON.stringify(value)} ${r.error.issues[0]?.message ?? 'is not valid'}`);
};

/**
 * The SDK's `AgentExecutor` over our runtime: a message starts a run (task id = run
 * id, context id = thread id); the run's canonical events are mapped to status and
 * artifact updates on the SDK's event bus.
 */
export class A2aExecutor implements AgentExecutor {
  constructor(private readonly ep: A2aEndpoint) {}

  async execute(rc: RequestContext, bus: ExecutionEventBus): Promise<void> {
    const { services, tasks } = this.ep;
    const principal = principalFrom(rc.context);
    const message = rc.userMessage;
    const named = rc.request.metadata?.[AGENT_METADATA_KEY];
    const agentId = this.ep.agentId ?? (typeof named === 'string' ? named : this.ep.defaultAgentId);
    const waiting = rc.task ? await tasks.run(principal, rc.taskId, null) : undefined;
    if (waiting?.status === 'waiting' && waiting.pending) return this.continueTask(principal, waiting, rc, bus);
    const content = contentFromParts(message.parts);
    const timeoutMs = timeoutOf(rc.request);
    let run: LiveRun;
    try {
      run = await services.conversations.start(principal, { agentId, threadId: rc.contextId, runId: rc.taskId, messages: [{ id: message.messageId, role: 'user', content }], timeoutMs, origin: 'a2a', ...startOptionsOf(rc.request) });
    } catch (err) {
      // The SDK turns a failed execute into a failed task with this message.
      throw new Error(err instanceof Error ? err.message : String(err));
    }
    const ids = { taskId: run.runId, contextId: run.threadId };
    const user = userMessageFromContent(ids, message.messageId, content);
    const now = new Date().toISOString();
    // The task is published as submitted, then every event of the run follows live (its start
    // may already be under way: how far depends on timing, what clients see must not).
    const seq = run.base;
    const { task, mapper } = deriveTask({
      ...ids,
      agentId,
      runStatus: 'queued',
      live: true,
      output: null,
      error: null,
      createdAt: now,
      startedAt: null,
      finishedAt: null,
      userMessages: user ? [user] : [],
      events: [],
    });
    await this.publishAndFollow(principal, task, mapper, run, seq, bus);
  }

  /** An input-required task whose decisions arrived: the run resumes; its task is published, then followed live. */
  private async continueTask(principal: Principal, record: RunRecord, rc: RequestContext, bus: ExecutionEventBus): Promise<void> {
    const { services, tasks } = this.ep;
    let run: LiveRun;
    try {
      run = await services.conversations.answer(principal, record.id, { decisions: a2aDecisions(rc.userMessage.parts, record.pending!) }, 'a2a');
    } catch (err) {
      throw new Error(err instanceof Error ? err.message : String(err));
    }
    const userMessages = await tasks.userMessages(record);
    const before = await tasks.before(run);
    // Synchronous from here to subscribe: the snapshot covers exactly the events up to `seq`.
    const seq = run.lastSeq;
    const { task, mapper } = tasks.fold({ ...record, status: 'running' }, userMessages, [...before, ...run.events.map((e) => e.event)], true);
    await this.publishAndFollow(principal, task, mapper, run, seq, bus);
  }

  /** The task as it stands at `seq`, then its updates live until the run is stored. */
  private async publishAndFollow(principal: Principal, task: Task, mapper: A2aEventMapper, run: LiveRun, seq: number, bus: ExecutionEventBus): Promise<void> {
    const { tasks } = this.ep;
    tasks.track(task);
    try {
      bus.publish(AgentEvent.task(task));
      for await (const u of follow(this.ep, principal, run.runId, seq, mapper, () => tasks.untrack(task.id))) bus.publish(toAgentEvent(u));
    } finally {
      tasks.untrack(task.id);
    }
  }

  /** Unused: the request handler's cancelTask checks the caller and cancels through RunService. */
  async cancelTask(_taskId: string, _bus: ExecutionEventBus): Promise<void> {}
}

/**
 * The SDK's `DefaultRequestHandler` (sending, blocking/non-blocking, streaming, get,
 * list, errors) with the task-is-a-run rules: sends are checked up front (so bad input
 * is a JSON-RPC error, not a failed task), and cancel/resubscribe go straight to the
 * runtime, so they work for any run, also one started over another protocol.
 */
export class A2aRequestHandler extends DefaultRequestHandler {
  constructor(
    card: AgentCard,
    store: A2aTaskStore,
    executor: A2aExecutor,
    busManager: ExecutionEventBusManager,
    private readonly ep: A2aEndpoint,
  ) {
    // No keep-alive states: a waiting run is continued by a new execution, not the old bus.
    super(card, store, executor, busManager, undefined, undefined, undefined, undefined, { keepBusAliveStates: [] });
  }

  override async sendMessage(params: SendMessageRequest, context: ServerCallContext): Promise<Message | Task> {
    await this.admit(params, context);
    return super.sendMessage(params, context);
  }

  override async *sendMessageStream(params: SendMessageRequest, context: ServerCallContext): AsyncGenerator<StreamResponse, void, undefined> {
    await this.admit(params, context);
    yield* super.sendMessageStream(params, context);
  }

  /** Rejects what the run cannot take, and records the chosen agent in the request metadata for the executor. */
  private async admit(params: SendMessageRequest, context: ServerCallContext): Promise<void> {
    const principal = principalFrom(context);
    const m = params.message;
    if (!m) throw new RequestMalformedError('params.message is required');
    if (!m.messageId) throw new RequestMalformedError('message.messageId is required');
    checkId(m.messageId, 'message.messageId');
    if (m.contextId) checkId(m.contextId, 'message.contextId');
    if (m.taskId) checkId(m.taskId, 'message.taskId');
    if (m.role !== Role.ROLE_USER) throw new RequestMalformedError('message.role must be ROLE_USER');
    contentFromParts(m.parts);
    timeoutOf(params);
    await this.checkLimits(principal);
    if (m.taskId) {
      const run = await this.ep.tasks.run(principal, m.taskId, this.ep.agentId);
      if (!run) throw new TaskNotFoundError(`Task not found: ${m.taskId}`);
      if (run.status === 'waiting' && run.pending) {
        // input-required: this message carries the decisions; the same task (run) goes on.
        if (run.pending.client_tool_calls.some((c) => !c.result)) throw new UnsupportedOperationError(`Task ${m.taskId} waits for client tool results, which A2A cannot carry; send them to POST /v1/runs/${m.taskId}/inputs`);
        a2aDecisions(m.parts, run.pending);
        params.metadata = { ...(params.metadata ?? {}), [AGENT_METADATA_KEY]: run.agent_id };
        return;
      }
      const state = run.status === 'queued' || run.status === 'running' ? 'still running' : `already ${run.status}`;
      throw new UnsupportedOperationError(`Task ${m.taskId} is ${state}; send a new message with contextId "${run.thread_id}" (and no taskId) to continue the conversation`);
    }
    if (await this.ep.services.conversations.messageExists(m.messageId)) throw new RequestMalformedError(`message.messageId "${m.messageId}" was already used; every message needs a new id`);
    const agentId = await pickAgent(this.ep, principal, params);
    await this.checkStart(principal, { agentId, threadId: m.contextId || undefined, ...startOptionsOf(params) });
    params.metadata = { ...(params.metadata ?? {}), [AGENT_METADATA_KEY]: agentId };
  }

  /** A bad webhook or a busy thread under "reject" refuses the message before a task exists. */
  private async checkStart(principal: Principal, opts: { agentId: string; threadId?: string; strategy?: MultitaskStrategy; webhook?: string }): Promise<void> {
    try {
      await this.ep.services.conversations.checkStart(principal, opts);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      if (err.code === 'bad_request') throw new RequestMalformedError(`metadata.webhook: ${err.message}`);
      if (err.code === 'thread_busy') throw new JsonRpcTransportError({ jsonrpc: '2.0', id: null, error: { code: A2A_THREAD_BUSY, message: `thread_busy: ${err.message}`, data: [{ code: err.code }] } } as never);
      if (err.code === 'not_found') throw new TaskNotFoundError(err.message);
      throw err;
    }
  }

  /** Rate limits and budgets refuse the message before a task exists: a JSON-RPC error, not a failed task. */
  private async checkLimits(principal: Principal): Promise<void> {
    try {
      await this.ep.services.conversations.checkLimits(principal);
    } catch (err) {
      if (!(err instanceof AppError) || (err.code !== 'rate_limited' && err.code !== 'budget_exceeded')) throw err;
      const retryAfter = Number(err.headers?.['Retry-After'] ?? 1);
      throw new JsonRpcTransportError({ jsonrpc: '2.0', id: null, error: { code: A2A_RATE_LIMITED, message: `${err.code}: ${err.message}`, data: [{ code: err.code, retry_after: retryAfter }] } } as never);
    }
  }

  /** The caller, the task id and its run (invalid params without an id; TaskNotFound when the caller may not see it). */
  private async taskOf(params: { id?: string }, context: ServerCallContext): Promise<{ principal: Principal; id: string; run: RunRecord }> {
    const principal = principalFrom(context);
    const id = params.id;
    if (!id?.trim()) throw new RequestMalformedError('Task ID is required');
    const run = await this.ep.tasks.run(principal, id, this.ep.agentId);
    if (!run) throw new TaskNotFoundError(`Task not found: ${id}`);
    return { principal, id, run };
  }

  /** The one cancel rule (RunService.cancel); a task that has ended is not cancelable, canceled included. */
  override async cancelTask(params: CancelTaskRequest, context: ServerCallContext): Promise<Task> {
    const { services, tasks } = this.ep;
    const { principal, id, run } = await this.taskOf(params, context);
    const notCancelable = (task: Task) =>
      new TaskNotCancelableError(`Task ${id} cannot be canceled: it is ${TaskState[task.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED]}`);
    if (!ACTIVE_STATUSES.includes(run.status) && run.status !== 'waiting') throw notCancelable(await tasks.derive(run));
    let now: RunRecord;
    try {
      now = await services.runs.cancelAndSettle(principal, id, REMOTE_CANCEL_WAIT_MS);
    } catch (err) {
      if (err instanceof AppError && err.code === 'conflict') throw notCancelable(await tasks.derive((await tasks.run(principal, id, null)) ?? run));
      throw err;
    }
    const task = await tasks.derive(now);
    if (task.status?.state !== TaskState.TASK_STATE_CANCELED) throw notCancelable(task);
    return task;
  }

  /** The task now, then its updates until it ends: exact (no gap, no repeat), wherever the run executes. */
  override async *resubscribe(params: SubscribeToTaskRequest, context: ServerCallContext): AsyncGenerator<StreamResponse, void, undefined> {
    const { services, tasks } = this.ep;
    const { principal, id, run } = await this.taskOf(params, context);
    const userMessages = await tasks.userMessages(run);
    const live = services.conversations.live(id);
    // Ending right now: answer from storage once it is settled.
    if (live?.ended) await live.done;
    let snapshot: { events: RunEvent[]; seq: number };
    if (live && !live.ended) {
      const before = await tasks.before(live);
      // Synchronous from here: the snapshot covers exactly the events up to `seq`.
      snapshot = { events: [...before, ...live.events.map((e) => e.event)], seq: live.lastSeq };
    } else {
      const now = (await tasks.run(principal, id, null)) ?? run;
      if (!ACTIVE_STATUSES.includes(now.status)) {
        const task = await tasks.derive(now);
        if (isTerminalState(task.status?.state)) {
          throw new UnsupportedOperationError(`Task ${id} is in a terminal state (${TaskState[task.status!.state]}) and cannot be subscribed to`);
        }
        yield { payload: { $case: 'task', value: task } };
        return;
      }
      // Another instance executes it: the task from the log, then the log as it grows.
      const stored = await services.runs.storedEvents(id);
      snapshot = { events: stored.map((e) => e.event), seq: stored.at(-1)?.seq ?? 0 };
    }
    const { task, mapper } = tasks.fold(run, userMessages, snapshot.events, true);
    yield { payload: { $case: 'task', value: task } };
    for await (const u of follow(this.ep, principal, id, snapshot.seq, mapper)) yield toStreamResponse(u);
  }
}
