import type { RunEvent } from '../../contracts/events.js';
import type { Db } from '../db/dialect.js';

export interface StoredEvent {
  seq: number;
  event: RunEvent;
}

export class EventRepo {
  constructor(private readonly db: Db) {}

  /** Seq of the run's last stored event (0 when it has none). */
  async lastSeq(runId: string): Promise<number> {
    const row = await this.db.kysely.selectFrom('run_events').select((eb) => eb.fn.max('seq').as('seq')).where('run_id', '=', runId).executeTakeFirst();
    return Number(row?.seq ?? 0);
  }

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
