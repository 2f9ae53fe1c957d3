import type { Db } from '../db/dialect.js';

export interface ThreadRecord {
  id: string;
  agent_id: string;
  title: string | null;
  metadata: Record<string, unknown>;
  state: unknown;
  created_at: string;
  updated_at: string;
}

export class ThreadRepo {
  constructor(private readonly db: Db) {}

  /** Creates the thread on first use; an existing thread is left as it is. */
  async ensure(id: string, agentId: string, now = new Date().toISOString()): Promise<void> {
    await this.db.kysely
      .insertInto('threads')
      .values({ id, agent_id: agentId, title: null, metadata: '{}', state: null, created_at: now, updated_at: now })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  }

  async get(id: string): Promise<ThreadRecord | undefined> {
    const row = await this.db.kysely.selectFrom('threads').selectAll().where('id', '=', id).executeTakeFirst();
    return row && this.toRecord(row);
  }

  async touch(id: string, now = new Date().toISOString()): Promise<void> {
    await this.db.kysely.updateTable('threads').set({ updated_at: now }).where('id', '=', id).execute();
  }

  toRecord(row: { id: string; agent_id: string; title: string | null; metadata: unknown; state: unknown; created_at: string | Date; updated_at: string | Date }): ThreadRecord {
    return {
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
