import { sql } from 'kysely';
import type { Db } from '../db/dialect.js';
import { prepared } from '../db/prepared.js';
import { AppError } from '../errors.js';
import { decodeCursor, encodeCursor, olderThan, toPage } from './cursor.js';

export interface ThreadRecord {
  id: string;
  agent_id: string;
  title: string | null;
  metadata: Record<string, unknown>;
  state: unknown;
  created_at: string;
  updated_at: string;
  /** The principal it belongs to; null for threads stored before access control (admins only). */
  owner: string | null;
}

export class ThreadRepo {
  constructor(private readonly db: Db) {}

  /** Creates the thread on first use, owned by `owner`; an existing thread is left as it is. Returns its owner, and whether this call created it. */
  async ensure(id: string, agentId: string, owner: string | null, now = new Date().toISOString()): Promise<{ owner: string | null; created: boolean }> {
    // A new thread is its caller's: only an existing one needs its owner read (one round trip saved per new thread).
    const created = (await ensureThread(this.db, id, agentId, owner, now, now)).rows[0];
    if (created) return { owner: created.owner ?? null, created: true };
    return { owner: (await selectOwner(this.db, id)).rows[0]?.owner ?? null, created: false };
  }

  async get(id: string): Promise<ThreadRecord | undefined> {
    const row = (await selectThread(this.db, id)).rows[0];
    return row && this.toRecord(row);
  }

  /** The thread's shared state (AG-UI); null when it has none or the thread does not exist. */
  async getState(id: string): Promise<unknown> {
    return this.stateOf((await selectState(this.db, id)).rows[0]);
  }

  /** The state, and the context size the thread's last model call reported (see Begun.context). */
  async getStateAndContext(id: string): Promise<{ state: unknown; context: { tokens: number; through: number } | null }> {
    const row = (await selectStateAndContext(this.db, id)).rows[0];
    const state = this.stateOf(row);
    const context = row && row.context_tokens !== null && row.context_through !== null ? { tokens: Number(row.context_tokens), through: Number(row.context_through) } : null;
    return { state, context };
  }

  private stateOf(row: { state: unknown } | undefined): unknown {
    return !row || row.state === null || row.state === undefined ? null : this.db.json(row.state);
  }

  /** Replaces the thread's shared state (null clears it); false when the thread does not exist. */
  async setState(id: string, state: unknown, now = new Date().toISOString()): Promise<boolean> {
    const res = await this.db.kysely
      .updateTable('threads')
      .set({ state: state === null || state === undefined ? null : JSON.stringify(state), updated_at: now })
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async touch(id: string, now = new Date().toISOString()): Promise<void> {
    await touchThread(this.db, now, id);
  }

  /** Newest first, keyset-paginated on (created_at, id). */
  async page(opts: { limit: number; cursor?: string; agentId?: string; title?: string; owner?: string }): Promise<{ items: ThreadRecord[]; next_cursor: string | null }> {
    let q = this.db.kysely.selectFrom('threads').selectAll();
    if (opts.owner !== undefined) q = q.where('owner', '=', opts.owner);
    if (opts.agentId) q = q.where('agent_id', '=', opts.agentId);
    if (opts.title) {
      // A substring, not a pattern: the caller's % and _ match themselves.
      const pattern = `%${opts.title.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      q = q.where(sql<boolean>`lower(title) like ${pattern} escape '\\'`);
    }
    if (opts.cursor) {
      const [, at, id] = decodeCursor('thread', opts.cursor);
      q = q.where(olderThan(at, id));
    }
    const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(opts.limit + 1).execute();
    return toPage(rows, opts.limit, (r) => this.toRecord(r), (r) => encodeCursor('thread', this.db.time(r.created_at)!, r.id));
  }

  /**
   * Read, change, compare-and-set on `updated_at` (which every update moves forward):
   * concurrent updates never lose a write, on either dialect, without row locks.
   */
  async update(id: string, change: (t: ThreadRecord) => Pick<ThreadRecord, 'title' | 'metadata'>): Promise<ThreadRecord | undefined> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const current = await this.get(id);
      if (!current) return undefined;
      const next = { ...current, ...change(current), updated_at: new Date(Math.max(Date.now(), Date.parse(current.updated_at) + 1)).toISOString() };
      const res = await this.db.kysely
        .updateTable('threads')
        .set({ title: next.title, metadata: JSON.stringify(next.metadata), updated_at: next.updated_at })
        .where('id', '=', id)
        .where('updated_at', '=', current.updated_at)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 1) return next;
    }
    throw new AppError('conflict', `thread "${id}" is being changed concurrently; retry`);
  }

  /** Messages, runs and their events go with it (ON DELETE CASCADE). */
  async delete(id: string): Promise<boolean> {
    const res = await this.db.kysely.deleteFrom('threads').where('id', '=', id).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  toRecord(row: { id: string; agent_id: string; title: string | null; metadata: unknown; state: unknown; created_at: string | Date; updated_at: string | Date; owner: string | null }): ThreadRecord {
    return {
      owner: row.owner,
      id: row.id,
      agent_id: row.agent_id,
      title: row.title,
      metadata: this.db.json(row.metadata) ?? {},
      state: row.state === null ? null : this.db.json(row.state),
      created_at: this.db.time(row.created_at)!,
      updated_at: this.db.time(row.updated_at)!,
    };
  }
}

// Hot-path statements (every run), compiled once: see prepared().
const ensureThread = prepared(
  (db, id: string, agentId: string, owner: string | null, created: string, updated: string) =>
    db.kysely
      .insertInto('threads')
      .values({ id, agent_id: agentId, title: null, metadata: '{}', state: null, created_at: created, updated_at: updated, owner })
      .onConflict((oc) => oc.column('id').doNothing())
      .returning('owner'),
);
/** A thread the server has just named (its id is new): a plain insert, so a clash fails rather than joins. */
export const createThread = prepared((db, id: string, agentId: string, owner: string, state: string | null, created: string, updated: string) =>
  db.kysely.insertInto('threads').values({ id, agent_id: agentId, title: null, metadata: '{}', state, created_at: created, updated_at: updated, owner }),
);
// FOR NO KEY UPDATE (PostgreSQL): inside a run's create, the thread stays locked against other creates until its commit (claimThread in store.ts); inserts that only reference it are not blocked.
const selectOwner = prepared((db, id: string) => {
  const q = db.kysely.selectFrom('threads').select('owner').where('id', '=', id);
  return db.kind === 'postgres' ? q.forNoKeyUpdate() : q;
});
// Every start on a thread the client names reads it first (ownership).
const selectThread = prepared((db, id: string) => db.kysely.selectFrom('threads').selectAll().where('id', '=', id));
const selectStateAndContext = prepared((db, id: string) => db.kysely.selectFrom('threads').select(['state', 'context_tokens', 'context_through']).where('id', '=', id));
const selectState = prepared((db, id: string) => db.kysely.selectFrom('threads').select('state').where('id', '=', id));
export const touchThread = prepared((db, now: string, id: string) => db.kysely.updateTable('threads').set({ updated_at: now }).where('id', '=', id));
