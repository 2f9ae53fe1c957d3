/** Conversation rules the chat protocols share (AG-UI, AI SDK, A2A): one place each. */
import type { Agent } from '../agents.js';
import { AppError } from '../errors.js';
import type { LiveRun } from '../runtime/live-run.js';
import type { RunInputs, Runtime, StartRun } from '../runtime/runtime.js';
import type { StoredMessage } from '../store/messages.js';
import type { RunRecord } from '../store/runs.js';
import type { Store } from '../store/store.js';
import type { ThreadRecord } from '../store/threads.js';
import { canSee, visibleRun, visibleThread, type Principal } from './access.js';
import type { LimitService } from './limits.js';
import type { RunStarts } from './run-starts.js';
import type { MultitaskStrategy } from '../../contracts/run.js';

/** A thread as a chat request finds it: absent (new), or its turns and its open runs. */
export interface Conversation {
  thread: ThreadRecord | undefined;
  turns: StoredMessage[];
  /** The latest run waiting for input, when it belongs to the asking agent. */
  waiting: RunRecord | undefined;
}

export class ConversationService {
  constructor(
    private readonly runtime: Runtime,
    private readonly store: Store,
    /** Per-principal rate limits and budgets: every start and answer counts, before its stream opens. */
    private readonly limits?: LimitService,
    /** multitask_strategy and webhooks at every start. */
    private readonly starts?: RunStarts,
  ) {}

  /** The configured agents, by id. */
  get agents(): ReadonlyMap<string, Agent> {
    return this.runtime.agents;
  }

  /** 404 for an agent that is not configured. */
  agent(agentId: string) {
    const agent = this.runtime.agents.get(agentId);
    if (!agent) throw new AppError('not_found', `unknown agent "${agentId}"`);
    return agent;
  }

  /** The thread if it exists; 404 when it is another principal's (a client-chosen id must not reach into it). */
  private async thread(principal: Principal, threadId: string): Promise<ThreadRecord | undefined> {
    const thread = await this.store.threads.get(threadId);
    return thread && visibleThread(principal, thread, threadId);
  }

  /** The thread, its turns and the run it waits on (for `agentId`); 404 for another principal's thread. */
  async open(principal: Principal, threadId: string, agentId: string): Promise<Conversation> {
    const thread = await this.thread(principal, threadId);
    if (!thread) return { thread, turns: [], waiting: undefined };
    const [turns, waiting] = await Promise.all([this.store.messages.list(threadId), this.store.runs.latestWaiting(threadId)]);
    return { thread, turns, waiting: waiting?.pending && waiting.agent_id === agentId ? waiting : undefined };
  }

  /** The thread's turns (empty for an unknown thread; 404 for another principal's). */
  async turns(principal: Principal, threadId: string): Promise<StoredMessage[]> {
    return (await this.thread(principal, threadId)) ? this.store.messages.list(threadId) : [];
  }

  /** The thread's latest queued or running run (none for a thread the caller may not see). */
  async activeRun(principal: Principal, threadId: string): Promise<RunRecord | undefined> {
    const run = await this.store.runs.latestActive(threadId);
    return run && canSee(principal, run.principal) ? run : undefined;
  }

  /** The thread's latest run waiting for input (none for a thread the caller may not see). */
  async waitingRun(principal: Principal, threadId: string): Promise<RunRecord | undefined> {
    const run = await this.store.runs.latestWaiting(threadId);
    return run && canSee(principal, run.principal) ? run : undefined;
  }

  /**
   * Message ids are unique server-wide: an id another thread holds would be skipped as
   * "already stored" and the message lost, so the request is refused instead (409).
   */
  async claimMessageIds(threadId: string, ids: Array<string | undefined>): Promise<void> {
    const wanted = ids.filter((id): id is string => id !== undefined);
    if (wanted.length === 0) return;
    const taken = [...(await this.store.messages.threadsOf(wanted))].filter(([, owner]) => owner !== threadId).map(([id]) => id);
    if (taken.length) throw new AppError('conflict', `message id(s) already used in another thread: ${taken.join(', ')}; message ids must be unique`);
  }

  /** Is this message id stored in any thread? */
  async messageExists(id: string): Promise<boolean> {
    return (await this.store.messages.threadsOf([id])).size > 0;
  }

  /**
   * Regenerate / edit: drops the thread's turns after `messageId` (and it too when
   * `inclusive`). 409 while a run is active on the thread: its turns would interleave.
   */
  async truncate(principal: Principal, threadId: string, target: { messageId: string; inclusive: boolean } | undefined): Promise<void> {
    if (!(await this.thread(principal, threadId))) return;
    // Checked even with nothing to drop yet: an active run may not have stored its turns.
    if (await this.store.runs.latestActive(threadId)) {
      throw new AppError('conflict', 'the thread has an active run: let it finish (or resume it) before regenerating or editing');
    }
    if (target) await this.store.truncate(threadId, target.messageId, target.inclusive);
  }

  /** A new run on the thread (created on first use, the caller's); it starts in the background. */
  async start(principal: Principal, req: Omit<StartRun, 'access'> & { strategy?: MultitaskStrategy; webhook?: string }): Promise<LiveRun> {
    const { strategy, webhook, ...start } = req;
    const admit = async () => this.limits?.admit(principal);
    const prepared = this.starts ? await this.starts.prepare(principal, { agentId: start.agentId, threadId: start.threadId, strategy, webhook }, admit) : (await admit(), { exclusive: false });
    const run = await this.runtime.start({ ...start, access: principal, trace: principal.trace, cap: this.limits?.activeCap(principal), exclusive: prepared.exclusive });
    await this.starts?.started(run.runId, prepared);
    return run;
  }

  /**
   * Answers a waiting run (approval decisions, client tool results); when the request must
   * settle every open input (`complete`), the run continues and its live handle is returned.
   */
  async answer(principal: Principal, runId: string, inputs: RunInputs, origin: string): Promise<LiveRun> {
    visibleRun(principal, await this.store.runs.get(runId), runId);
    await this.limits?.admit(principal);
    const { run } = await this.runtime.resume(runId, inputs, { origin, complete: true, trace: principal.trace });
    return run!;
  }

  /** 400 for a webhook that may not be used, 409 `thread_busy` for a busy thread under `reject`: before anything is stored. */
  async checkStart(principal: Principal, opts: { agentId: string; threadId?: string; strategy?: MultitaskStrategy; webhook?: string }): Promise<void> {
    await this.starts?.check(principal, opts);
  }

  /** 429 when the caller may not start a run now (nothing counted: the start that follows counts). */
  async checkLimits(principal: Principal): Promise<void> {
    await this.limits?.check(principal);
  }

  /** The live run in this process, if it runs here. */
  live(runId: string): LiveRun | undefined {
    return this.runtime.get(runId);
  }
}
