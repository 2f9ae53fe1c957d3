import { type ListTasksRequest, type ListTasksResponse, type Message, type Task } from '@a2a-js/sdk';
import { RequestMalformedError } from '@a2a-js/sdk/errors';
import type { ServerCallContext, TaskStore } from '@a2a-js/sdk/server';
import type { RunEvent } from '../../../contracts/events.js';
import type { LiveRun } from '../../runtime/live-run.js';
import type { Principal } from '../../auth/principal.js';
import { canSee } from '../../services/access.js';
import type { Services } from '../../services/index.js';
import { principalFrom } from './principal-user.js';
import type { NewMessage } from '../../store/messages.js';
import type { RunRecord } from '../../store/runs.js';
import { userMessageFromContent } from '../../protocols/a2a/history.js';
import { compactTask, deriveTask, runStatusesOf, type A2aEventMapper } from '../../protocols/a2a/mapper.js';

/**
 * A2A tasks read from our own storage: a task is a run (its row, its user turns,
 * its events), so tasks survive a restart and runs started over any protocol are
 * tasks too. Nothing A2A-specific is stored.
 *
 * One exception, in memory only: while a run that the A2A executor started is
 * live in this process, loads return the view the SDK has built from the updates
 * already published (what stream subscribers have seen), so a task snapshot never
 * runs ahead of the updates that follow it.
 */
export class A2aTasks {
  private readonly published = new Map<string, Task>();
  /** Owner and agent of each tracked task's run (immutable): the SDK loads a live task on every update it publishes. */
  private readonly owners = new Map<string, Pick<RunRecord, 'principal' | 'agent_id'>>();

  constructor(private readonly services: Services) {}

  private isLive(taskId: string): boolean {
    return this.services.conversations.live(taskId) !== undefined;
  }

  /** Start serving the published view of a live task (the executor just published `task`). */
  track(task: Task): void {
    this.published.set(task.id, detached(task));
  }

  untrack(taskId: string): void {
    this.published.delete(taskId);
    this.owners.delete(taskId);
  }

  /** What the SDK saves: kept only for tracked tasks whose run is still live here. */
  save(task: Task): void {
    if (this.published.has(task.id) && this.isLive(task.id)) this.published.set(task.id, detached(task));
  }

  /** The task as clients should see it now; undefined if unknown, another principal's or of another agent. */
  async load(principal: Principal, taskId: string, agentId: string | null): Promise<Task | undefined> {
    const view = this.published.get(taskId);
    const owner = view && this.owners.get(taskId);
    if (view && owner && this.isLive(taskId)) {
      // The same visibility rule as `run()`, without reading the run again.
      return canSee(principal, owner.principal) && (!agentId || owner.agent_id === agentId) ? editable(view) : undefined;
    }
    const run = await this.run(principal, taskId, agentId);
    if (!run) return undefined;
    if (view) {
      if (this.isLive(taskId)) {
        this.owners.set(taskId, { principal: run.principal, agent_id: run.agent_id });
        return editable(view);
      }
      this.published.delete(taskId);
      this.owners.delete(taskId);
    }
    return this.derive(run);
  }

  /** The run behind a task, if the caller may see it (scoped to an agent when `agentId` is set). */
  async run(principal: Principal, taskId: string, agentId: string | null): Promise<RunRecord | undefined> {
    if (!taskId) return undefined;
    const run = await this.services.runs.find(principal, taskId);
    return run && (!agentId || run.agent_id === agentId) ? run : undefined;
  }

  /** The task derived from storage (or from the live run's in-memory events while it runs here). */
  async derive(run: RunRecord): Promise<Task> {
    const userMessages = await this.userMessages(run);
    const live = this.services.conversations.live(run.id);
    const events = live ? [...(await this.before(live)), ...live.events.map((e) => e.event)] : (await this.services.runs.storedEvents(run.id)).map((e) => e.event);
    return this.fold(run, userMessages, events, live !== undefined).task;
  }

  /** Events stored before a resumed run's current stretch (which alone is in memory). */
  async before(live: LiveRun): Promise<RunEvent[]> {
    if (live.base === 0) return [];
    return (await this.services.runs.storedEvents(live.runId)).filter((e) => e.seq <= live.base).map((e) => e.event);
  }

  fold(run: RunRecord, userMessages: Message[], events: Parameters<typeof deriveTask>[0]['events'], live: boolean): { task: Task; mapper: A2aEventMapper } {
    return deriveTask({
      taskId: run.id,
      contextId: run.thread_id,
      agentId: run.agent_id,
      runStatus: run.status,
      live,
      output: run.output,
      error: run.error,
      createdAt: run.created_at,
      startedAt: run.started_at,
      finishedAt: run.finished_at,
      userMessages,
      events,
    });
  }

  /** The run's user turns; before they are stored (the run is still queued) its input. */
  async userMessages(run: RunRecord): Promise<Message[]> {
    const ids = { taskId: run.id, contextId: run.thread_id };
    const rows = await this.services.runs.turnsOf(run);
    const stored = rows.filter((r) => r.role === 'user');
    const turns = rows.length ? stored : ((run.input.messages as NewMessage[] | undefined) ?? []).filter((m) => m.role === 'user').map((m, i) => ({ id: m.id ?? `${run.id}-input-${i}`, content: m.content }));
    return turns.flatMap((t) => userMessageFromContent(ids, t.id, t.content) ?? []);
  }

  thread(principal: Principal, id: string) {
    return this.services.threads.find(principal, id);
  }

  /** ListTasks: newest first, filtered by context, state and status time; offset page tokens. */
  async list(principal: Principal, params: ListTasksRequest, agentId: string | null): Promise<ListTasksResponse> {
    const pageSize = params.pageSize ?? 50;
    const offset = decodePageToken(params.pageToken);
    const statuses = params.status ? runStatusesOf(params.status) : undefined;
    if (statuses && statuses.length === 0) return { tasks: [], nextPageToken: '', pageSize, totalSize: 0 };
    let after: string | undefined;
    if (params.statusTimestampAfter) after = new Date(params.statusTimestampAfter).toISOString();
    const page = await this.services.runs.pageByOffset(principal, { agentId: agentId ?? undefined, threadId: params.contextId || undefined, statuses, changedSince: after, limit: pageSize, offset });
    const rows = page.items;
    const tasks = await Promise.all(rows.map((r) => this.derive(r)));
    if (!params.includeArtifacts) for (const t of tasks) t.artifacts = [];
    const totalSize = page.total;
    const next = offset + rows.length;
    return { tasks, nextPageToken: rows.length > 0 && next < totalSize ? Buffer.from(`o:${next}`).toString('base64url') : '', pageSize, totalSize };
  }
}

function decodePageToken(token: string | undefined): number {
  if (!token) return 0;
  const m = /^o:(\d{1,9})$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  if (!m) throw new RequestMalformedError('pageToken is not valid: use the nextPageToken of a previous ListTasks response');
  return Number(m[1]);
}

/**
 * A copy of the published view that the SDK may change the way it does (@a2a-js/sdk 1.3,
 * `ResultManager`, `sendMessage`, `getTask`): it sets fields of the task and of its artifacts and
 * pushes to the artifact list; nested values (status, messages, parts) it replaces, never changes,
 * so they are shared. A deep copy (structuredClone) here cost a tenth of an A2A run's CPU: the SDK
 * loads the task once per update it publishes.
 */
function editable(view: Task): Task {
  return { ...view, artifacts: view.artifacts.map((a) => ({ ...a })), history: [...view.history] };
}

/**
 * A copy of what the SDK saved that its later changes to the saved object cannot reach
 * (compactTask builds new artifact and parts arrays; `load` hands out `editable` copies). Saved on
 * every update, so no deep copy here.
 */
function detached(task: Task): Task {
  return { ...compactTask(task), history: [...(task.history ?? [])] };
}

/** The SDK's `TaskStore` over our storage, scoped to one agent (or all, for the server-level endpoint). */
export class A2aTaskStore implements TaskStore {
  constructor(
    private readonly tasks: A2aTasks,
    private readonly agentId: string | null,
  ) {}

  async save(task: Task, _context: ServerCallContext): Promise<void> {
    this.tasks.save(task);
  }

  load(taskId: string, context: ServerCallContext): Promise<Task | undefined> {
    return this.tasks.load(principalFrom(context), taskId, this.agentId);
  }

  list(params: ListTasksRequest, context: ServerCallContext): Promise<ListTasksResponse> {
    return this.tasks.list(principalFrom(context), params, this.agentId);
  }
}
