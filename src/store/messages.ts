import { sql, type CompiledQuery } from 'kysely';
import type { Db } from '../db/dialect.js';
import { prepared } from '../db/prepared.js';
import { newId } from '../ids.js';
import { decodeCursor, encodeCursor, toPage } from './cursor.js';

/** Messages are stored in Anthropic's MessageParam shape: the runtime's own format. */
export interface StoredMessage {
  id: string;
  thread_id: string;
  run_id: string | null;
  position: number;
  role: 'user' | 'assistant';
  content: unknown[];
  created_at: string;
}

export type NewMessage = { id?: string; role: 'user' | 'assistant'; content: unknown[] };

export class MessageRepo {
  constructor(private readonly db: Db) {}

  /**
   * Appends at the end of the thread in one statement (the position is computed
   * in SQL). Callers hold the thread's run lock, so appends never interleave.
   */
  async append(threadId: string, runId: string | null, messages: NewMessage[]): Promise<Array<Omit<StoredMessage, 'position'>>> {
    const { rows, statement } = appendStatement(this.db, threadId, runId, messages);
    if (statement) await this.db.kysely.executeQuery(statement);
    return rows;
  }

  /** Appends the turns whose ids the thread does not hold yet (clients resend their history). */
  async appendNew(threadId: string, runId: string | null, messages: NewMessage[]): Promise<Array<Omit<StoredMessage, 'position'>>> {
    const ids = messages.flatMap((m) => (m.id ? [m.id] : []));
    if (ids.length === 0) return this.append(threadId, runId, messages);
    const known = new Set((await this.threadsOf(ids)).keys());
    return this.append(threadId, runId, messages.filter((m) => !m.id || !known.has(m.id)));
  }

  /** Which thread holds each of these message ids (ids are unique across threads). */
  async threadsOf(ids: string[]): Promise<Map<string, string>> {
    const owners = new Map<string, string>();
    // One id (a conversation's first turn, a single new message) is the common case: compiled once.
    if (ids.length === 1) {
      for (const r of (await selectMessageThread(this.db, ids[0])).rows) owners.set(r.id, r.thread_id);
      return owners;
    }
    // In slices: a client may resend a long history, and bound values per statement are limited.
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await this.db.kysely.selectFrom('messages').select(['id', 'thread_id']).where('id', 'in', ids.slice(i, i + 500)).execute();
      for (const r of rows) owners.set(r.id, r.thread_id);
    }
    return owners;
  }

  /**
   * Deletes the thread's turns after `messageId` (with it too when `inclusive`): an answer
   * being regenerated or a user message being edited. Returns how many, and the first position gone.
   */
  async deleteAfter(threadId: string, messageId: string, inclusive = false): Promise<{ deleted: number; from: number }> {
    const at = await this.db.kysely.selectFrom('messages').select('position').where('thread_id', '=', threadId).where('id', '=', messageId).executeTakeFirst();
    if (!at) return { deleted: 0, from: 0 };
    const from = inclusive ? at.position : at.position + 1;
    const res = await this.db.kysely.deleteFrom('messages').where('thread_id', '=', threadId).where('position', '>=', from).executeTakeFirst();
    return { deleted: Number(res.numDeletedRows), from };
  }

  /** The turns one run appended to its thread, in order. */
  async ofRun(threadId: string, runId: string): Promise<StoredMessage[]> {
    const rows = await this.db.kysely.selectFrom('messages').selectAll().where('thread_id', '=', threadId).where('run_id', '=', runId).orderBy('position').execute();
    return rows.map((r) => this.toRecord(r));
  }

  async list(threadId: string): Promise<StoredMessage[]> {
    const { rows } = await listMessages(this.db, threadId);
    return rows.map((r) => this.toRecord(r));
  }

  /** Keyset on position: appends land after every cursor, so ascending pages never skip or repeat. */
  async page(
    threadId: string,
    opts: { limit: number; after?: string; before?: string; order: 'asc' | 'desc'; runId?: string },
  ): Promise<{ items: StoredMessage[]; next_cursor: string | null }> {
    let q = this.db.kysely.selectFrom('messages').selectAll().where('thread_id', '=', threadId);
    if (opts.runId) q = q.where('run_id', '=', opts.runId);
    if (opts.after) q = q.where('position', '>', decodeCursor('message', opts.after, 'after')[1]);
    if (opts.before) q = q.where('position', '<', decodeCursor('message', opts.before, 'before')[1]);
    const rows = await q.orderBy('position', opts.order).limit(opts.limit + 1).execute();
    return toPage(rows, opts.limit, (r) => this.toRecord(r), (r) => encodeCursor('message', r.position));
  }

  /** Message count and last message of each thread, in two queries for a whole page of threads. */
  async stats(threadIds: string[]): Promise<Map<string, { count: number; last: StoredMessage | null }>> {
    const stats = new Map<string, { count: number; last: StoredMessage | null }>();
    if (threadIds.length === 0) return stats;
    const counts = await this.db.kysely
      .selectFrom('messages')
      .select((eb) => ['thread_id', eb.fn.countAll().as('n')])
      .where('thread_id', 'in', threadIds)
      .groupBy('thread_id')
      .execute();
    for (const c of counts) stats.set(c.thread_id, { count: Number(c.n), last: null });
    const last = await this.db.kysely
      .selectFrom('messages as m')
      .selectAll('m')
      .where('m.thread_id', 'in', threadIds)
      .where((eb) => eb('m.position', '=', eb.selectFrom('messages as l').select((l) => l.fn.max('l.position').as('p')).whereRef('l.thread_id', '=', 'm.thread_id')))
      .execute();
    for (const r of last) stats.get(r.thread_id)!.last = this.toRecord(r);
    return stats;
  }

  private toRecord(r: { id: string; thread_id: string; run_id: string | null; position: number; role: 'user' | 'assistant'; content: unknown; created_at: string | Date }): StoredMessage {
    return { ...r, content: this.db.json<unknown[]>(r.content), created_at: this.db.time(r.created_at)! };
  }
}

/** The rows `append` stores, and the one statement that stores them at the end of the thread (none for no rows). */
export function appendStatement(db: Db, threadId: string, runId: string | null, messages: NewMessage[]): { rows: Array<Omit<StoredMessage, 'position'>>; statement: CompiledQuery | null } {
  if (messages.length === 0) return { rows: [], statement: null };
  const now = new Date().toISOString();
  const rows = messages.map((m) => ({ id: m.id ?? newId('msg'), thread_id: threadId, run_id: runId, role: m.role, content: m.content, created_at: now }));
  if (rows.length === 1) {
    const r = rows[0];
    return { rows, statement: appendOne.query(db, r.id, threadId, runId, r.role, JSON.stringify(r.content), now, threadId) };
  }
  const statement = db.kysely
    .insertInto('messages')
    .values(
      rows.map((r, i) => ({
        ...r,
        content: JSON.stringify(r.content),
        position: sql<number>`(select coalesce(max(position), -1) + ${i + 1} from messages where thread_id = ${threadId})`,
      })),
    )
    .compile();
  return { rows, statement };
}

// Hot-path statements (every run), compiled once: see prepared().
const appendOne = prepared(
  (db, id: string, thread_id: string, run_id: string | null, role: string, content: string, created_at: string, positionOf: string) =>
    db.kysely.insertInto('messages').values({
      id,
      thread_id,
      run_id,
      role: role as 'user' | 'assistant',
      content,
      created_at,
      position: sql<number>`(select coalesce(max(position), -1) + 1 from messages where thread_id = ${positionOf})`,
    }),
);
const selectMessageThread = prepared((db, id: string) => db.kysely.selectFrom('messages').select(['id', 'thread_id']).where('id', '=', id));
const listMessages = prepared((db, threadId: string) => db.kysely.selectFrom('messages').selectAll().where('thread_id', '=', threadId).orderBy('position'));
