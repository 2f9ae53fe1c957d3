/** What a run sends the model: the latest compaction of a thread and the turns after it. */
import { sql } from 'kysely';
import type { Db } from '../db/dialect.js';
import { newId } from '../ids.js';
import type { StoredMessage } from './messages.js';

export interface CompactionRecord {
  id: string;
  thread_id: string;
  run_id: string | null;
  /** The last position it summarises; the model gets the turns after it. */
  through_position: number;
  summary: string;
  /** Stored turns it summarises, earlier compactions' included. */
  turns: number;
  tokens_before: number;
  tokens_after: number;
  created_at: string;
}

export type NewCompaction = Omit<CompactionRecord, 'id' | 'created_at'>;

/** The thread as the model sees it. */
export interface ModelContext {
  compaction: CompactionRecord | null;
  /** The turns after the compaction (all of them when there is none), in order. */
  turns: StoredMessage[];
}

export class ContextRepo {
  constructor(private readonly db: Db) {}

  /**
   * One indexed query (compactions_thread, then a range of messages_thread_position): the cost
   * of a run's history read depends on what follows the latest compaction, not on the thread's length.
   */
  async load(threadId: string): Promise<ModelContext> {
    const { rows } = await sql<Row>`
      with c as (
        select id, run_id, through_position, summary, turns, tokens_before, tokens_after, created_at
        from compactions where thread_id = ${threadId} order by through_position desc limit 1)
      select id, run_id, through_position as position, null as role, null as content, summary, turns, tokens_before, tokens_after, created_at from c
      union all
      select id, run_id, position, role, content, null, null, null, null, created_at from messages
      where thread_id = ${threadId} and position > coalesce((select through_position from c), -1)
      order by position`.execute(this.db.kysely);
    let compaction: CompactionRecord | null = null;
    const turns: StoredMessage[] = [];
    for (const r of rows) {
      const created_at = this.db.time(r.created_at)!;
      if (r.summary !== null) {
        compaction = { id: r.id, thread_id: threadId, run_id: r.run_id, through_position: Number(r.position), summary: r.summary, turns: Number(r.turns), tokens_before: Number(r.tokens_before), tokens_after: Number(r.tokens_after), created_at };
      } else {
        turns.push({ id: r.id, thread_id: threadId, run_id: r.run_id, position: Number(r.position), role: r.role!, content: this.db.json<unknown[]>(r.content), created_at });
      }
    }
    return { compaction, turns };
  }

  /** Stores a compaction; the thread's context size becomes its estimate until the next model call reports one. */
  async add(c: NewCompaction, contextThrough: number, now = new Date().toISOString()): Promise<CompactionRecord> {
    const record: CompactionRecord = { ...c, id: newId('cmp'), created_at: now };
    await this.db.kysely.insertInto('compactions').values(record).execute();
    await this.db.kysely.updateTable('threads').set({ context_tokens: c.tokens_after, context_through: contextThrough }).where('id', '=', c.thread_id).execute();
    return record;
  }

  /** Turns from `position` on are gone (regenerate, edit): compactions that summarise any of them go too. */
  async forgetFrom(threadId: string, position: number): Promise<void> {
    await this.db.kysely.deleteFrom('compactions').where('thread_id', '=', threadId).where('through_position', '>=', position).execute();
    await this.db.kysely.updateTable('threads').set({ context_tokens: null, context_through: null }).where('id', '=', threadId).execute();
  }

  /** Every compaction of a thread, oldest first (thread API, tests). */
  async list(threadId: string): Promise<CompactionRecord[]> {
    const rows = await this.db.kysely.selectFrom('compactions').selectAll().where('thread_id', '=', threadId).orderBy('through_position').execute();
    return rows.map((r) => ({ ...r, created_at: this.db.time(r.created_at)! }));
  }
}

interface Row {
  id: string;
  run_id: string | null;
  position: number | string;
  role: 'user' | 'assistant' | null;
  content: unknown;
  summary: string | null;
  turns: number | string | null;
  tokens_before: number | string | null;
  tokens_after: number | string | null;
  created_at: string | Date;
}
