import { sql } from 'kysely';
import { zeroUsage, type Usage } from '../../contracts/common.js';
import type { RunEvent } from '../../contracts/events.js';
import type { Db } from '../db/dialect.js';
import { migrate } from '../db/migrations.js';
import { AppError, threadBusy } from '../errors.js';
import { prepared } from '../db/prepared.js';
import { Changes } from './changes.js';
import { ContextRepo, type CompactionRecord, type NewCompaction } from './context.js';
import { EventRepo } from './events.js';
import { EventWriter } from './event-writer.js';
import { appendStatement, MessageRepo, type NewMessage, type StoredMessage } from './messages.js';
import { ACTIVE_STATUSES, createRunStatement, RunRepo, type NewRunRow, type RunEnd, type RunRecord } from './runs.js';
import { createThread, ThreadRepo, touchThread } from './threads.js';
import { RateRepo } from './rate-windows.js';
import { UsageRepo, usageStatement } from './usage.js';
import { WebhookRepo } from './webhooks.js';

/** Storage facade: the repositories plus the few writes that span tables. */
export class Store {
  readonly threads: ThreadRepo;
  readonly messages: MessageRepo;
  readonly runs: RunRepo;
  readonly eventLog: EventRepo;
  readonly events: EventWriter;
  /** One row per model call (usage API, daily budgets). */
  readonly usage: UsageRepo;
  /** Per-principal rate-limit counters. */
  readonly rates: RateRepo;
  /** Compactions: what the model gets of a long thread. */
  readonly context: ContextRepo;
  /** Completion webhooks: subscriptions and deliveries. */
  readonly webhooks: WebhookRepo;
  /** Wake-ups for readers of runs and events (this process's writes; other instances' via NOTIFY). */
  readonly changes = new Changes();

  private constructor(readonly db: Db, onWriteError: (err: Error) => void) {
    this.threads = new ThreadRepo(db);
    this.messages = new MessageRepo(db);
    this.runs = new RunRepo(db);
    this.eventLog = new EventRepo(db);
    this.usage = new UsageRepo(db);
    this.rates = new RateRepo(db);
    this.context = new ContextRepo(db);
    this.webhooks = new WebhookRepo(db);
    this.events = new EventWriter(db, 25, onWriteError, this.changes);
  }

  static async open(db: Db, onWriteError: (err: Error) => void = () => {}): Promise<Store> {
    await migrate(db);
    return new Store(db, onWriteError);
  }

  /** Repositories bound to one transaction: one commit for writes that belong together. */
  private tx<T>(fn: (repos: Repos) => Promise<T>): Promise<T> {
    return this.db.kysely.transaction().execute((trx) => {
      const db = { ...this.db, kysely: trx };
      return fn({ threads: new ThreadRepo(db), runs: new RunRepo(db), messages: new MessageRepo(db), context: new ContextRepo(db), db });
    });
  }

  /**
   * The thread is created on first use, owned by the caller; the run starts as queued and
   * belongs to the thread's owner. 404 (nothing stored) when the thread is another principal's.
   */
  async createRun(r: NewRun, access: Access, cap?: ActiveCap, exclusive = false): Promise<void> {
    await this.tx(async (repos) => {
      await checkCap(repos, cap);
      const { principal } = await claimThread(repos, r, access, exclusive);
      await repos.runs.create({ ...r, principal });
    });
  }

  /**
   * One commit for everything a run does when it gets the thread: mark it running,
   * replace the state when asked, append the new turns; then read state and history.
   */
  beginRun(runId: string, threadId: string, input: NewMessage[], state?: unknown): Promise<Begun> {
    return this.tx(async (repos) => {
      await repos.runs.markRunning(runId);
      return begin(repos, runId, threadId, input, state);
    });
  }

  /**
   * createRun and beginRun in one commit: the run is stored running. `ifFree` (PostgreSQL, several
   * instances): only when the thread has no queued or running run, else it is stored queued for
   * the database queue (null). Under the thread's row lock every run stored before on the thread
   * is committed, and a queued run is claimed only once committed, so an empty count means no run
   * can take the thread first.
   */
  startRun(r: NewRun, access: Access, input: NewMessage[], o: StartOptions = {}): Promise<Begun | null> {
    return this.tx(async (repos) => {
      await checkCap(repos, o.cap);
      const exclusive = o.exclusive ?? false;
      const { principal, created } = await claimThread(repos, r, access, exclusive);
      // A new thread has no runs, and `exclusive` has just counted them.
      if (o.ifFree && !created && !exclusive && (await repos.runs.activeIds(r.thread_id)).length) {
        await repos.runs.create({ ...r, principal });
        return null;
      }
      await repos.runs.create({ ...r, principal }, r.created_at);
      return begin(repos, r.id, r.thread_id, input, o.state, created);
    });
  }

  /**
   * startRun on a thread that does not exist yet, planned apart from its commit: such a thread
   * has no runs, turns or state, so what the run begins with is known before it is stored (its
   * first model call may go out meanwhile), and the three writes go as one batch (one round trip
   * on PostgreSQL). A thread the server has just named needs no read; one the client named may
   * exist, and client message ids may be taken (ids are unique across threads): then, or when a
   * cap must count active runs, null, and startRun decides. The commit is optimistic: when another
   * request creates the thread or takes an id meanwhile, its plain inserts fail, it stores
   * nothing, and startRun decides.
   */
  async planStart(r: NewRun, access: Access, input: NewMessage[], o: Pick<StartOptions, 'state' | 'cap'> & { named: boolean }): Promise<StartPlan | null> {
    if (o.cap) return null;
    if (o.named && (await this.threads.get(r.thread_id))) return null;
    const ids = input.flatMap((m) => (m.id ? [m.id] : []));
    if (ids.length && (await this.messages.threadsOf(ids)).size) return null;
    const db = this.db;
    const { rows, statement } = appendStatement(db, r.thread_id, r.id, input);
    const stateJson = o.state === undefined || o.state === null ? null : JSON.stringify(o.state);
    const statements = [
      createThread.query(db, r.thread_id, r.agent_id, access.id, stateJson, r.created_at, r.created_at),
      createRunStatement(db, { ...r, principal: access.id }, r.created_at),
      ...(statement ? [statement] : []),
    ];
    return {
      // As read back: the stored JSON of the state.
      begun: { state: stateJson === null ? null : JSON.parse(stateJson), history: rows.map((m, position) => ({ ...m, position })), compaction: null, context: null },
      commit: async () => void (await db.batch(statements)),
    };
  }

  /**
   * The run's end in one commit: its remaining events (so a reader who sees the final status
   * finds every event), its last turn when the loop left it to be stored here, the run row.
   * None of these statements reads another's result, so they go as one batch.
   */
  async finishRun(runId: string, threadId: string, end: RunEnd, turns: NewMessage[] = [], contextTokens?: number): Promise<void> {
    const now = new Date().toISOString();
    const db = this.db;
    const json = (v: unknown) => (v ? JSON.stringify(v) : null);
    await this.events.flushWith(runId, (events) => {
      const { statement: turn } = appendStatement(db, threadId, runId, turns);
      return db.batch([
        ...events,
        ...(turn ? [turn] : []),
        finishRunRow.query(db, end.status, end.stop_reason, end.output, JSON.stringify(end.usage), JSON.stringify(end.tool_calls), json(end.error), json(end.pending), now, runId),
        // The last model call's size covers the thread up to its last turn (just appended).
        contextTokens !== undefined ? touchWithContext.query(db, now, contextTokens, threadId, threadId) : touchThread.query(db, now, threadId),
      ]);
    });
  }

  /**
   * One model call's usage, stored with the run's next events (its end, or the next flush within
   * the writer's interval): no commit of its own, and budgets see it as soon as those events.
   */
  recordUsage(runId: string, model: string, step: number, u: Usage): void {
    const now = new Date();
    this.events.defer(runId, (db) => usageStatement(db, runId, model, step, u, now));
  }

  /** Stores a compaction of the thread (what the model gets from now on; the turns stay). */
  compact(c: NewCompaction, contextThrough: number): Promise<CompactionRecord> {
    return this.tx(({ context }) => context.add(c, contextThrough));
  }

  /**
   * Deletes the thread's turns after `messageId` (from it on when `inclusive`), and the
   * compactions that summarise any of them, in one commit. Returns how many turns.
   */
  truncate(threadId: string, messageId: string, inclusive: boolean): Promise<number> {
    return this.tx(async ({ messages, context }) => {
      const cut = await messages.deleteAfter(threadId, messageId, inclusive);
      if (cut.deleted) await context.forgetFrom(threadId, cut.from);
      return cut.deleted;
    });
  }

  /**
   * Multitask `rollback`: the runs (ended already) and everything they stored — their turns, the
   * compactions summarising any of those, their events — are deleted in one commit. Only runs
   * that are no longer queued or running are touched; returns how many turns went.
   */
  rollbackRuns(threadId: string, runIds: string[]): Promise<number> {
    if (runIds.length === 0) return Promise.resolve(0);
    return this.tx(async ({ db, context }) => {
      const ended = await db.kysely.selectFrom('runs').select('id').where('thread_id', '=', threadId).where('id', 'in', runIds).where('status', 'not in', ACTIVE_STATUSES).execute();
      const ids = ended.map((r) => r.id);
      if (ids.length === 0) return 0;
      const first = await db.kysely.selectFrom('messages').select((eb) => eb.fn.min('position').as('p')).where('thread_id', '=', threadId).where('run_id', 'in', ids).executeTakeFirst();
      const res = await db.kysely.deleteFrom('messages').where('thread_id', '=', threadId).where('run_id', 'in', ids).executeTakeFirst();
      if (first?.p !== null && first?.p !== undefined) await context.forgetFrom(threadId, Number(first.p));
      await db.kysely.deleteFrom('run_events').where('run_id', 'in', ids).execute();
      await db.kysely.deleteFrom('runs').where('id', 'in', ids).execute();
      return Number(res.numDeletedRows);
    });
  }

  /**
   * A waiting run cancelled: its row ends `cancelled` and its log gets the terminal event a
   * follower ends on, in one commit. False when it was no longer waiting.
   */
  async cancelWaiting(run: RunRecord): Promise<boolean> {
    const now = new Date().toISOString();
    await this.events.flush();
    return this.tx(async ({ db, runs, threads }) => {
      if (!(await runs.cancelWaiting(run.id, now))) return false;
      const log = new EventRepo(db);
      const event: RunEvent = { type: 'run.finished', status: 'cancelled', output: run.output ?? '', stop_reason: 'cancelled', usage: run.usage ?? zeroUsage(), tool_calls: run.tool_calls ?? [] };
      await log.append(run.id, (await log.lastSeq(run.id)) + 1, event, now);
      await threads.touch(run.thread_id, now);
      return true;
    }).then((ok) => {
      if (ok) this.changes.publish(`run:${run.id}`);
      return ok;
    });
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

/** A run row as the runtime gives it: the principal comes from `Access`. */
type NewRun = Omit<NewRunRow, 'principal'>;

/** A run's start on a new thread (Store.planStart): how it begins, and the commit that stores it. */
export interface StartPlan {
  begun: Begun;
  commit(): Promise<void>;
}

/** How startRun stores the run (see there and claimThread). */
export interface StartOptions {
  /** Replaces the thread's state. */
  state?: unknown;
  cap?: ActiveCap;
  /** Multitask `reject`: refused when the thread has a queued or running run. */
  exclusive?: boolean;
  ifFree?: boolean;
}

/** Who starts a run: a new thread becomes theirs; an existing one must be theirs unless they are an admin. */
export interface Access {
  id: string;
  admin: boolean;
}

/**
 * Ensures the thread and returns its owner; an existing thread of another principal looks absent
 * (404), in the same transaction. Its row stays locked until the commit (PostgreSQL), so runs
 * stored on one thread by several instances are stored one after another. `exclusive`
 * (multitask `reject`): refused when the thread has a queued or running run, seen under that lock.
 */
async function claimThread(repos: Repos, r: NewRun, access: Access, exclusive: boolean): Promise<Claimed> {
  const { owner, created } = await repos.threads.ensure(r.thread_id, r.agent_id, access.id, r.created_at);
  if (!access.admin && owner !== access.id) throw new AppError('not_found', `unknown thread "${r.thread_id}"`);
  if (exclusive && !created && (await repos.runs.activeIds(r.thread_id)).length) throw threadBusy(r.thread_id);
  return { principal: owner, created };
}

/** The thread's owner (the run's principal), and whether this transaction created the thread (it has no runs, turns or state yet). */
interface Claimed {
  principal: string | null;
  created: boolean;
}

type Repos = { threads: ThreadRepo; runs: RunRepo; messages: MessageRepo; context: ContextRepo; db: Db };

/** At most `limit` queued or running runs of `principal`: checked in the transaction that stores the run. */
export interface ActiveCap {
  principal: string;
  limit: number;
  /** The error to throw when the principal has `limit` already. */
  refuse(): Error;
}

async function checkCap(repos: Repos, cap: ActiveCap | undefined): Promise<void> {
  if (!cap) return;
  const rates = new RateRepo(repos.db);
  await rates.lockPrincipal(cap.principal);
  if ((await rates.activeRuns(cap.principal)) >= cap.limit) throw cap.refuse();
}

/** What a run starts from once the thread is its own. */
export interface Begun {
  state: unknown;
  /** The turns the model gets: those after the latest compaction. */
  history: StoredMessage[];
  compaction: CompactionRecord | null;
  /** The context's size at the thread's last model call, and the last position it covered (null: unknown). */
  context: { tokens: number; through: number } | null;
}

/** `created`: the thread was created in this transaction, so its history is `input` alone and nothing needs reading back. */
async function begin(repos: Repos, runId: string, threadId: string, input: NewMessage[], state?: unknown, created = false): Promise<Begun> {
  if (created) {
    if (state !== undefined) await repos.threads.setState(threadId, state);
    const turns = await repos.messages.appendNew(threadId, runId, input);
    const history = turns.map((m, position) => ({ ...m, position }));
    // As read back: the stored JSON of the state.
    return { state: state === undefined ? null : JSON.parse(JSON.stringify(state)), history, compaction: null, context: null };
  }
  await repos.runs.closeWaiting(threadId, runId);
  if (state !== undefined) await repos.threads.setState(threadId, state);
  await repos.messages.appendNew(threadId, runId, input);
  const thread = await repos.threads.getStateAndContext(threadId);
  const { compaction, turns } = await repos.context.load(threadId);
  return { state: thread.state, history: turns, compaction, context: thread.context };
}

const touchWithContext = prepared((db, now: string, tokens: number, id: string, positionOf: string) =>
  db.kysely
    .updateTable('threads')
    .set({ updated_at: now, context_tokens: tokens, context_through: sql<number>`(select max(position) from messages where thread_id = ${positionOf})` })
    .where('id', '=', id),
);

// Once per run, compiled once: see prepared(). An instance that lost its lease must not
// overwrite the `interrupted` another one recorded, hence the status condition.
const finishRunRow = prepared(
  (db, status: string, stop_reason: string | null, output: string | null, usage: string, tool_calls: string, error: string | null, pending: string | null, finished_at: string, id: string) =>
    db.kysely
      .updateTable('runs')
      .set({ status, stop_reason, output, usage, tool_calls, error, pending, finished_at })
      .where('id', '=', id)
      .where('status', 'in', ACTIVE_STATUSES),
);
