import { Role, TaskState, type Artifact, type Message, type Part, type Task, type TaskArtifactUpdateEvent, type TaskStatusUpdateEvent } from '@a2a-js/sdk';
import type { RunStatus } from '../../../contracts/common.js';
import type { RunEvent } from '../../../contracts/events.js';

/**
 * A2A mapping: a task is a run, `contextId` is the thread. Canonical run
 * events become A2A task updates here, and nowhere else: the live stream, the
 * resubscribe stream and the task read back from storage (after a restart too)
 * are all this same fold over the run's events, so they always agree.
 *
 * Deterministic and free of I/O; the caller stamps live status timestamps.
 */

export interface TaskIds {
  taskId: string;
  contextId: string;
}

export type A2aUpdate = { kind: 'statusUpdate'; data: TaskStatusUpdateEvent } | { kind: 'artifactUpdate'; data: TaskArtifactUpdateEvent };

/** Name of the artifacts that carry the answer text (one per text block the model writes). */
export const TEXT_ARTIFACT_NAME = 'response';

const TERMINAL_STATES = new Set<TaskState>([TaskState.TASK_STATE_COMPLETED, TaskState.TASK_STATE_FAILED, TaskState.TASK_STATE_CANCELED, TaskState.TASK_STATE_REJECTED]);

export const isTerminalState = (s: TaskState | undefined): boolean => s !== undefined && TERMINAL_STATES.has(s);

/** A status update that ends the task's stream: a terminal state or input-required. */
export function isFinalUpdate(u: A2aUpdate): boolean {
  const s = u.kind === 'statusUpdate' ? u.data.status?.state : undefined;
  return isTerminalState(s) || s === TaskState.TASK_STATE_INPUT_REQUIRED;
}

export function taskStateOf(status: RunStatus): TaskState {
  switch (status) {
    case 'queued':
      return TaskState.TASK_STATE_SUBMITTED;
    case 'running':
      return TaskState.TASK_STATE_WORKING;
    case 'waiting':
      return TaskState.TASK_STATE_INPUT_REQUIRED;
    case 'completed':
      return TaskState.TASK_STATE_COMPLETED;
    case 'cancelled':
      return TaskState.TASK_STATE_CANCELED;
    case 'failed':
    case 'timed_out':
    case 'interrupted':
      return TaskState.TASK_STATE_FAILED;
  }
}

/** Run statuses a task in this A2A state can have (ListTasks filter). */
export function runStatusesOf(state: TaskState): RunStatus[] {
  const all: RunStatus[] = ['queued', 'running', 'waiting', 'completed', 'failed', 'cancelled', 'timed_out', 'interrupted'];
  return all.filter((s) => taskStateOf(s) === state);
}

export const textPart = (text: string): Part => ({ content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: '' });
export const dataPart = (value: unknown): Part => ({ content: { $case: 'data', value }, metadata: undefined, filename: '', mediaType: 'application/json' });

export function agentMessage(ids: TaskIds, messageId: string, parts: Part[], metadata?: Record<string, unknown>): Message {
  return { messageId, contextId: ids.contextId, taskId: ids.taskId, role: Role.ROLE_AGENT, parts, metadata, extensions: [], referenceTaskIds: [] };
}

function status(ids: TaskIds, state: TaskState, message?: Message): A2aUpdate {
  return { kind: 'statusUpdate', data: { taskId: ids.taskId, contextId: ids.contextId, status: { state, message, timestamp: undefined }, metadata: undefined } };
}

function chunk(ids: TaskIds, artifactId: string, text: string, append: boolean, lastChunk: boolean): A2aUpdate {
  const artifact: Artifact = { artifactId, name: TEXT_ARTIFACT_NAME, description: '', parts: [textPart(text)], metadata: undefined, extensions: [] };
  return { kind: 'artifactUpdate', data: { taskId: ids.taskId, contextId: ids.contextId, artifact, append, lastChunk, metadata: undefined } };
}

/**
 * Canonical events of one run, in order → A2A updates:
 * - the first `step.started` → status `working`;
 * - each text block → one artifact (id = the text block id) streamed as chunks: the
 *   first delta opens it (`append: false`), later deltas append, `text.end` closes it
 *   with an empty `lastChunk` (empty blocks produce nothing);
 * - a finished tool call and a tool result → status `working` with an agent message
 *   carrying a data part (`tool_call` / `tool_result`);
 * - `context.compacted` → status `working` with `metadata.context_compacted`;
 * - `run.finished` / `run.error` → the final status: completed (the answer as the
 *   status message), input-required (what the run waits on), canceled, or failed.
 * Reasoning, state and usage have no A2A counterpart and are not sent.
 */
export class A2aEventMapper {
  private working = false;
  private readonly openText = new Set<string>();
  private lastMessageId: string | undefined;
  private readonly pendingCalls = new Map<string, { id: string; name: string; input: unknown }>();
  private readonly approvals: Array<{ id: string; approval_id: string; name: string; input: unknown }> = [];
  /** The final status, once the terminal event was mapped. */
  ended: A2aUpdate | undefined;

  constructor(readonly ids: TaskIds) {}

  map(event: RunEvent): A2aUpdate[] {
    const ids = this.ids;
    switch (event.type) {
      case 'run.started':
        if (!event.resumed) return [];
        // The decisions are in: the task works again after input-required.
        this.ended = undefined;
        this.approvals.length = 0;
        this.pendingCalls.clear();
        this.working = true;
        return [status(ids, TaskState.TASK_STATE_WORKING)];
      case 'step.started':
        this.lastMessageId = event.message_id;
        if (this.working) return [];
        this.working = true;
        return [status(ids, TaskState.TASK_STATE_WORKING)];
      case 'text.delta': {
        if (event.delta === '') return [];
        const append = this.openText.has(event.id);
        this.openText.add(event.id);
        return [chunk(ids, event.id, event.delta, append, false)];
      }
      case 'text.end':
        if (!this.openText.delete(event.id)) return [];
        return [chunk(ids, event.id, '', true, true)];
      case 'tool.call.end':
        this.pendingCalls.set(event.id, { id: event.id, name: event.name, input: event.input });
        return [status(ids, TaskState.TASK_STATE_WORKING, agentMessage(ids, `${event.id}-call`, [dataPart({ type: 'tool_call', id: event.id, name: event.name, input: event.input })]))];
      case 'tool.result':
        this.pendingCalls.delete(event.id);
        return [
          status(
            ids,
            TaskState.TASK_STATE_WORKING,
            agentMessage(ids, `${event.id}-result`, [dataPart({ type: 'tool_result', id: event.id, name: event.name, output: event.output, is_error: event.is_error })]),
          ),
        ];
      case 'context.compacted': {
        // A working status whose metadata says the older turns were summarised for the model.
        this.working = true;
        const update = status(ids, TaskState.TASK_STATE_WORKING);
        if (update.kind === 'statusUpdate') update.data.metadata = { context_compacted: { turns: event.turns, through_message_id: event.through_message_id, tokens_before: event.tokens_before, tokens_after: event.tokens_after } };
        return [update];
      }
      case 'tool.approval.requested':
        // Waiting on a decision, not on a client: listed once, as an approval request.
        this.pendingCalls.delete(event.id);
        this.approvals.push({ id: event.id, approval_id: event.approval_id, name: event.name, input: event.input });
        return [];
      case 'run.finished':
        this.ended = this.final(event.status, event.output, null);
        return [this.ended];
      case 'run.error':
        this.ended = this.final(event.status, '', { code: event.code, message: event.message });
        return [this.ended];
      default:
        return [];
    }
  }

  /** The final status of a run that ended with `status` (also used for runs whose events lack a terminal one). */
  final(runStatus: RunStatus, output: string, error: { code: string; message: string } | null): A2aUpdate {
    const ids = this.ids;
    const state = taskStateOf(runStatus);
    switch (state) {
      case TaskState.TASK_STATE_COMPLETED:
        return status(ids, state, output ? agentMessage(ids, this.lastMessageId ?? `${ids.taskId}-answer`, [textPart(output)]) : undefined);
      case TaskState.TASK_STATE_INPUT_REQUIRED: {
        const waitingOn = [
          ...[...this.pendingCalls.values()].map((c) => dataPart({ type: 'tool_call', ...c })),
          ...this.approvals.map((a) => dataPart({ type: 'approval_request', ...a })),
        ];
        const text = this.approvals.length ? 'Waiting for a decision on the requested tool calls.' : 'Waiting for the results of client-side tool calls.';
        return status(ids, state, agentMessage(ids, `${this.lastMessageId ?? ids.taskId}-input-required`, [textPart(text), ...waitingOn]));
      }
      case TaskState.TASK_STATE_CANCELED:
        return status(ids, state, agentMessage(ids, `${ids.taskId}-canceled`, [textPart('The task was cancelled.')]));
      case TaskState.TASK_STATE_FAILED: {
        const e = error ?? { code: runStatus, message: `the run ended with status ${runStatus}` };
        return status(ids, state, agentMessage(ids, `${ids.taskId}-error`, [textPart(e.message)], { code: e.code, status: runStatus }));
      }
      default:
        return status(ids, state);
    }
  }
}

/** Merges adjacent plain text parts, so a streamed artifact reads back as one part. */
function compactParts(parts: Part[]): Part[] {
  const out: Part[] = [];
  for (const p of parts) {
    const prev = out[out.length - 1];
    if (p.content?.$case === 'text' && prev?.content?.$case === 'text' && !p.metadata && !prev.metadata && p.mediaType === prev.mediaType && p.filename === prev.filename) {
      out[out.length - 1] = { ...prev, content: { $case: 'text', value: prev.content.value + p.content.value } };
    } else {
      out.push(p);
    }
  }
  return out;
}

/** The same task with each artifact's text chunks merged. */
export function compactTask(task: Task): Task {
  return { ...task, artifacts: (task.artifacts ?? []).map((a) => ({ ...a, parts: compactParts(a.parts ?? []) })) };
}

/**
 * Applies one update to a task in place, the way the SDK's `ResultManager` does
 * (status replaced, its message appended to history once; artifact chunks
 * appended or replacing by id), keeping artifact text compact.
 */
export function applyUpdate(task: Task, u: A2aUpdate): void {
  if (u.kind === 'statusUpdate') {
    task.status = u.data.status;
    const m = u.data.status?.message;
    if (m && !task.history.some((h) => h.messageId === m.messageId)) task.history.push(m);
    return;
  }
  const a = u.data.artifact;
  if (!a) return;
  const i = task.artifacts.findIndex((x) => x.artifactId === a.artifactId);
  if (i === -1) task.artifacts.push({ ...a, parts: compactParts(a.parts) });
  else if (u.data.append) task.artifacts[i] = { ...task.artifacts[i], parts: compactParts([...task.artifacts[i].parts, ...a.parts]) };
  else task.artifacts[i] = { ...a, parts: compactParts(a.parts) };
}

export interface DeriveInput extends TaskIds {
  agentId: string;
  /** The run's stored status (ignored while the run is live: its events are newer). */
  runStatus: RunStatus;
  live: boolean;
  output: string | null;
  error: { code: string; message: string } | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** The user's turns of this run, as A2A messages. */
  userMessages: Message[];
  /** The run's canonical events so far, in seq order. */
  events: RunEvent[];
}

/**
 * A run → its A2A task: user turns as history, then the fold of the mapped events.
 * Returns the mapper too, so a live caller can go on mapping the events that follow.
 */
export function deriveTask(input: DeriveInput): { task: Task; mapper: A2aEventMapper } {
  const ids = { taskId: input.taskId, contextId: input.contextId };
  const mapper = new A2aEventMapper(ids);
  const task: Task = {
    id: input.taskId,
    contextId: input.contextId,
    status: { state: TaskState.TASK_STATE_SUBMITTED, message: undefined, timestamp: input.createdAt },
    artifacts: [],
    history: [...input.userMessages],
    metadata: { agentId: input.agentId },
  };
  const stamp = (u: A2aUpdate): A2aUpdate => {
    if (u.kind !== 'statusUpdate' || !u.data.status) return u;
    const terminal = isFinalUpdate(u);
    const timestamp = (terminal ? input.finishedAt : input.startedAt) ?? input.startedAt ?? input.createdAt;
    return { kind: 'statusUpdate', data: { ...u.data, status: { ...u.data.status, timestamp } } };
  };
  for (const e of input.events) for (const u of mapper.map(e)) applyUpdate(task, stamp(u));
  if (!input.live) {
    // The stored status wins over the events (an orphan marked interrupted at start-up
    // has no terminal event; a waiting run may have been cancelled since).
    const expected = taskStateOf(input.runStatus);
    if (task.status?.state !== expected) {
      const settled = input.runStatus !== 'queued' && input.runStatus !== 'running';
      const u = settled ? mapper.final(input.runStatus, input.output ?? '', input.error) : status(ids, expected);
      applyUpdate(task, stamp(u));
    }
  }
  return { task, mapper };
}

