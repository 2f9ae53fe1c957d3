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
    const row = await this.db.kysely.selectFrom('run_events').select((eb) => eb.fn.max('last_seq').as('seq')).where('run_id', '=', runId).executeTakeFirst();
    return Number(row?.seq ?? 0);
  }

  /** One event written outside the batched writer (a run's end written by someone other than the run); a seq already taken is left as it is. */
  async append(runId: string, seq: number, event: RunEvent, now: string): Promise<void> {
    await this.db.kysely
      .insertInto('run_events')
      .values({ run_id: runId, seq, last_seq: seq, data: `[${JSON.stringify(event)}]`, created_at: now })
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  /** Events of a run with seq > after, in order (each stored row holds a batch of consecutive ones). */
  async list(runId: string, after = 0): Promise<StoredEvent[]> {
    const rows = await this.db.kysely
      .selectFrom('run_events')
      .select(['seq', 'data'])
      .where('run_id', '=', runId)
      .where('last_seq', '>', after)
      .orderBy('seq')
      .execute();
    const out: StoredEvent[] = [];
    let last = after;
    for (const r of rows) {
      const events = JSON.parse(r.data) as RunEvent[];
      for (let i = 0; i < events.length; i++) {
        const seq = r.seq + i;
        // Rows never overlap when written by the run and by recovery (it writes past the run's
        // reservation); should two ever cover one seq, the first one read is kept.
        if (seq <= last) continue;
        out.push({ seq, event: events[i] });
        last = seq;
      }
    }
    return out;
  }
}
