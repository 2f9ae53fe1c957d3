import type { RunEvent } from '../../contracts/events.js';
import type { Db } from '../db/dialect.js';

export interface StoredEvent {
  seq: number;
  event: RunEvent;
}

export class EventRepo {
  constructor(private readonly db: Db) {}

  /** Events of a run with seq > after, in order. */
  async list(runId: string, after = 0): Promise<StoredEvent[]> {
    const rows = await this.db.kysely
      .selectFrom('run_events')
      .select(['seq', 'data'])
      .where('run_id', '=', runId)
      .where('seq', '>', after)
      .orderBy('seq')
      .execute();
    return rows.map((r) => ({ seq: r.seq, event: this.db.json<RunEvent>(r.data) }));
  }
}
