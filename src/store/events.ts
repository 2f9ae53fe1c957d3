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

  /** One event written outside the batched writer (a run's end written by someone other than the run); a seq already taken is left as it is. */
  async append(runId: string, seq: number, event: RunEvent, now: string): Promise<void> {
    await this.db.kysely
      .insertInto('run_events')
      .values({ run_id: runId, seq, type: event.type, data: JSON.stringify(event), created_at: now })
      .onConflict((oc) => oc.doNothing())
      .execute();
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
