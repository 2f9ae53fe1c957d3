import type { PendingInputs, RunStatus, ToolCall, Usage } from '../../contracts/common.js';
import { sql, type CompiledQuery } from 'kysely';
import type { Db } from '../db/dialect.js';
import { prepared } from '../db/prepared.js';
import { decodeCursor, encodeCursor, olderThan, toPage } from './cursor.js';

export interface RunInput {
  prompt?: string;
  [k: string]: unknown;
}

export interface RunRecord {
  id: string;
  thread_id: string;
  agent_id: string;
  origin: string;
  status: RunStatus;
  input: RunInput;
  stop_reason: string | null;
  output: string | null;
  usage: Usage | null;
  tool_calls: ToolCall[] | null;
  error: { code: string; message: string } | null;
  /** Set while the run is `waiting`. */
  pending: PendingInputs | null;
  timeout_ms: number;
  /** Instance executing it (lease). */
  owner: string | null;
  /** Its thread's owner (a principal id); null for runs stored before access control. */
  principal: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export const ACTIVE_STATUSES: RunStatus[] = ['queued', 'running'];

/**
 * Seqs are reserved in blocks of this many before they are streamed (runs.seq_reserved); a
 * run's first block comes with its row, so runs shorter than this never write a reservation.
 */
export const SEQ_BLOCK = 1000;

export interface RunEnd {
  status: RunStatus;
  stop_reason: string | null;
  output: string | null;
  usage: Usage;
  tool_calls: ToolCall[];
  error: { code: string; message: string } | null;
  /** What a `waiting` run waits for. */
  pending?: PendingInputs | null;
}

export type NewRunRow = Pick<RunRecord, 'id' | 'thread_id' | 'agent_id' | 'origin' | 'input' | 'timeout_ms' | 'owner' | 'principal' | 'created_at'>;

/** The statement `RunRepo.create` runs (for batches): queued, or running from `startedAt`. */
export function createRunStatement(db: Db, r: NewRunRow, startedAt: string | null): CompiledQuery {
  return insertRun.query(db, r.id, r.thread_id, r.agent_id, r.origin, startedAt ? 'running' : 'queued', JSON.stringify(r.input), r.timeout_ms, r.owner, r.principal, r.created_at, startedAt);
}

export class RunRepo {
  constructor(private readonly db: Db) {}

  /** Stored queued, or running from `startedAt` when it has its thread already. */
  async create(r: NewRunRow, startedAt: string | null = null): Promise<void> {
    await this.db.kysely.executeQuery(createRunStatement(this.db, r, startedAt));
  }

  async markRunning(id: string, now = new Date().toISOString()): Promise<void> {
    await markRunning(this.db, now, id);
  }

  async get(id: string): Promise<RunRecord | undefined> {
    const row = (await selectRun(this.db, id)).rows[0];
    return row && this.toRecord(row);
  }

  /** The thread's most recent run that is still queued or running. */
  latestActive(threadId: string): Promise<RunRecord | undefined> {
    return this.latestIn(threadId, ACTIVE_STATUSES);
  }

  /** The thread's most recent run waiting for input (approvals, client tool results). */
  latestWaiting(threadId: string): Promise<RunRecord | undefined> {
    return this.latestIn(threadId, ['waiting']);
  }

  private async latestIn(threadId: string, statuses: RunStatus[]): Promise<RunRecord | undefined> {
    const row = await this.db.kysely
      .selectFrom('runs')
      .selectAll()
      .where('thread_id', '=', threadId)
      .where('status', 'in', statuses)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row && this.toRecord(row);
  }

  /** Newest first, keyset-paginated on (created_at, id); every filter is optional. */
  async page(f: {
    limit: number;
    cursor?: string;
    threadId?: string;
    agentId?: string;
    status?: RunStatus;
    origin?: string;
    createdAfter?: string;
    createdBefore?: string;
    principal?: string;
  }): Promise<{ items: RunRecord[]; next_cursor: string | null }> {
    let q = this.db.kysely.selectFrom('runs').selectAll();
    if (f.principal !== undefined) q = q.where('principal', '=', f.principal);
    if (f.threadId) q = q.where('thread_id', '=', f.threadId);
    if (f.agentId) q = q.where('agent_id', '=', f.agentId);
    if (f.status) q = q.where('status', '=', f.status);
    if (f.origin) q = q.where('origin', '=', f.origin);
    // Stored times are ISO UTC text (SQLite) or timestamptz: compare with the same normal form.
    if (f.createdAfter) q = q.where('created_at', '>=', new Date(f.createdAfter).toISOString());
    if (f.createdBefore) q = q.where('created_at', '<', new Date(f.createdBefore).toISOString());
    if (f.cursor) {
      const [, at, id] = decodeCursor('run', f.cursor);
      q = q.where(olderThan(at, id));
    }
    const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(f.limit + 1).execute();
    return toPage(rows, f.limit, (r) => this.toRecord(r), (r) => encodeCursor('run', this.db.time(r.created_at)!, r.id));
  }

  /** Records inputs that arrived for a waiting run; false when it is no longer waiting. */
  async savePending(id: string, pending: PendingInputs): Promise<boolean> {
    const res = await this.db.kysely.updateTable('runs').set({ pending: JSON.stringify(pending) }).where('id', '=', id).where('status', '=', 'waiting').executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /**
   * waiting → queued, for exactly one caller: null when someone else resumed it first (or it
   * moved on). Returns the seq of its last stored event (a waiting run has stored every event
   * it streamed), and reserves the next block after it in the same statement.
   */
  async claimWaiting(id: string, pending: PendingInputs, owner: string): Promise<number | null> {
    const last = sql<number>`(select coalesce(max(e.last_seq), 0) from run_events e where e.run_id = ${id})`;
    const row = await this.db.kysely
      .updateTable('runs')
      .set({ status: 'queued', pending: JSON.stringify(pending), owner, finished_at: null, seq_reserved: sql<number>`${last} + ${SEQ_BLOCK}` })
      .where('id', '=', id)
      .where('status', '=', 'waiting')
      .returning('seq_reserved')
      .executeTakeFirst();
    return row ? Number(row.seq_reserved) - SEQ_BLOCK : null;
  }

  /**
   * Moves the run's reservation up to `upTo` (only forward); false when the run is no longer
   * queued or running (another instance took it over and closed its log after the reservation).
   */
  async reserveSeq(id: string, upTo: number): Promise<boolean> {
    const res = await reserveSeq(this.db, upTo, id, upTo);
    return Number(res.numAffectedRows ?? 0) === 1;
  }

  /**
   * A new run on the thread moves on from runs still waiting there. One whose approvals were
   * never decided ends `cancelled`; one that only waited for client tool results ends
   * `completed` (the new run's input carries them, and the history repairs any that are missing).
   */
  async closeWaiting(threadId: string, exceptRunId: string, now = new Date().toISOString()): Promise<void> {
    const waiting = (await selectWaiting(this.db, threadId)).rows;
    for (const row of waiting) {
      if (row.id === exceptRunId) continue;
      const pending = row.pending == null ? null : (this.db.json(row.pending) as PendingInputs);
      const undecided = pending?.approvals.some((a) => !a.decision) ?? false;
      await this.db.kysely
        .updateTable('runs')
        .set({ status: undecided ? 'cancelled' : 'completed', stop_reason: undecided ? 'superseded' : 'tool_use', pending: null, finished_at: now })
        .where('id', '=', row.id)
        .where('status', '=', 'waiting')
        .execute();
    }
  }

  /**
   * Ends a run suspended in `waiting` (it is live nowhere) as `cancelled`; false when its
   * status moved on meanwhile.
   */
  async cancelWaiting(id: string, now: string): Promise<boolean> {
    const res = await this.db.kysely
      .updateTable('runs')
      .set({ status: 'cancelled', stop_reason: 'cancelled', pending: null, finished_at: now })
      .where('id', '=', id)
      .where('status', '=', 'waiting')
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /** Runs newest first with a total, paged by offset (A2A ListTasks pages this way). */
  async pageByOffset(opts: { principal?: string; agentId?: string; threadId?: string; statuses?: RunStatus[]; changedSince?: string; limit: number; offset: number }): Promise<{ items: RunRecord[]; total: number }> {
    let q = this.db.kysely.selectFrom('runs');
    if (opts.principal !== undefined) q = q.where('principal', '=', opts.principal);
    if (opts.agentId) q = q.where('agent_id', '=', opts.agentId);
    if (opts.threadId) q = q.where('thread_id', '=', opts.threadId);
    if (opts.statuses) q = q.where('status', 'in', opts.statuses);
    if (opts.changedSince) {
      const t = opts.changedSince;
      q = q.where((eb) => eb.or([eb('finished_at', '>=', t), eb.and([eb('finished_at', 'is', null), eb('created_at', '>=', t)])]));
    }
    const total = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
    const rows = await q.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(opts.limit).offset(opts.offset).execute();
    return { items: rows.map((r) => this.toRecord(r)), total: Number(total?.n ?? 0) };
  }

  /** Ids of the thread's runs that are queued or running. */
  async activeIds(threadId: string): Promise<string[]> {
    const rows = await this.db.kysely.selectFrom('runs').select('id').where('thread_id', '=', threadId).where('status', 'in', ACTIVE_STATUSES).execute();
    return rows.map((r) => r.id);
  }

  toRecord(row: Record<string, any>): RunRecord {
    const j = this.db.json.bind(this.db);
    return {
      id: row.id,
      thread_id: row.thread_id,
      agent_id: row.agent_id,
      origin: row.origin,
      status: row.status,
      input: j(row.input),
      stop_reason: row.stop_reason,
      output: row.output,
      usage: row.usage === null ? null : j(row.usage),
      tool_calls: row.tool_calls === null ? null : j(row.tool_calls),
      error: row.error === null ? null : j(row.error),
      pending: row.pending == null ? null : j(row.pending),
      timeout_ms: Number(row.timeout_ms),
      owner: row.owner,
      principal: row.principal ?? null,
      created_at: this.db.time(row.created_at)!,
      started_at: this.db.time(row.started_at),
      finished_at: this.db.time(row.finished_at),
    };
  }
}

// Hot-path statements (every run), compiled once: see prepared().
const insertRun = prepared(
  (db, id: string, thread_id: string, agent_id: string, origin: string, status: RunStatus, input: string, timeout_ms: number, owner: string | null, principal: string | null, created_at: string, started_at: string | null) =>
    db.kysely.insertInto('runs').values({ id, thread_id, agent_id, origin, status, input, stop_reason: null, output: null, usage: null, tool_calls: null, error: null, pending: null, timeout_ms, owner, principal, created_at, started_at, finished_at: null, seq_reserved: SEQ_BLOCK }),
);
const reserveSeq = prepared((db, upTo: number, id: string, floor: number) =>
  db.kysely.updateTable('runs').set({ seq_reserved: upTo }).where('id', '=', id).where('status', 'in', ACTIVE_STATUSES).where('seq_reserved', '<=', floor),
);
const selectRun = prepared((db, id: string) => db.kysely.selectFrom('runs').selectAll().where('id', '=', id));
const markRunning = prepared((db, now: string, id: string) => db.kysely.updateTable('runs').set({ status: 'running', started_at: now }).where('id', '=', id));
const selectWaiting = prepared((db, threadId: string) => db.kysely.selectFrom('runs').select(['id', 'pending']).where('thread_id', '=', threadId).where('status', '=', 'waiting'));
