import type { Db } from '../db/dialect.js';
import { newId } from '../ids.js';

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
   * Appends at the end of the thread. Callers hold the thread's run lock, so
   * reading the last position and inserting after it cannot interleave.
   */
  async append(threadId: string, runId: string | null, messages: NewMessage[]): Promise<StoredMessage[]> {
    if (messages.length === 0) return [];
    const last = await this.db.kysely
      .selectFrom('messages')
      .select((eb) => eb.fn.max('position').as('p'))
      .where('thread_id', '=', threadId)
      .executeTakeFirst();
    const start = last?.p === null || last?.p === undefined ? 0 : Number(last.p) + 1;
    const now = new Date().toISOString();
    const rows = messages.map((m, i) => ({
      id: m.id ?? newId('msg'),
      thread_id: threadId,
      run_id: runId,
      position: start + i,
      role: m.role,
      content: JSON.stringify(m.content),
      created_at: now,
    }));
    await this.db.kysely.insertInto('messages').values(rows).execute();
    return rows.map((r, i) => ({ ...r, content: messages[i].content }));
  }

  /** Appends the turns whose ids the thread does not hold yet (clients resend their history). */
  async appendNew(threadId: string, runId: string | null, messages: NewMessage[]): Promise<StoredMessage[]> {
    const ids = messages.flatMap((m) => (m.id ? [m.id] : []));
    if (ids.length === 0) return this.append(threadId, runId, messages);
    const known = new Set(
      (await this.db.kysely.selectFrom('messages').select('id').where('id', 'in', ids).execute()).map((r) => r.id),
    );
    return this.append(threadId, runId, messages.filter((m) => !m.id || !known.has(m.id)));
  }

  async list(threadId: string): Promise<StoredMessage[]> {
    const rows = await this.db.kysely.selectFrom('messages').selectAll().where('thread_id', '=', threadId).orderBy('position').execute();
    return rows.map((r) => ({ ...r, content: this.db.json<unknown[]>(r.content), created_at: this.db.time(r.created_at)! }));
  }
}
