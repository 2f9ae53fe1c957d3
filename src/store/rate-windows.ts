import { sql } from 'kysely';
import type { Db } from '../db/dialect.js';
import { ACTIVE_STATUSES } from './runs.js';

/** Counters behind the per-principal limits; in the database, so every instance counts the same. */
export class RateRepo {
  constructor(private readonly db: Db) {}

  /**
   * Counts one run start in the principal's window unless it already holds `limit`: the
   * conditional upsert is one statement, so concurrent starts on any instance never overshoot.
   * Returns the count after this start, or null when the window is full.
   */
  async take(principal: string, windowStart: number, limit: number): Promise<number | null> {
    const row = await this.db.kysely
      .insertInto('rate_windows')
      .values({ principal, window_start: windowStart, count: 1 })
      .onConflict((oc) =>
        oc
          .columns(['principal', 'window_start'])
          .doUpdateSet({ count: sql<number>`rate_windows.count + 1` })
          .where('rate_windows.count', '<', limit),
      )
      .returning('count')
      .executeTakeFirst();
    // Old windows are never read again.
    if (row && Number(row.count) === 1) await this.db.kysely.deleteFrom('rate_windows').where('principal', '=', principal).where('window_start', '<', windowStart).execute();
    return row ? Number(row.count) : null;
  }

  /** Starts counted in the window so far. */
  async count(principal: string, windowStart: number): Promise<number> {
    const row = await this.db.kysely.selectFrom('rate_windows').select('count').where('principal', '=', principal).where('window_start', '=', windowStart).executeTakeFirst();
    return Number(row?.count ?? 0);
  }

  /** The principal's queued and running runs, on every instance. */
  /**
   * PostgreSQL: holds the principal's lock until the transaction ends, so that instances checking
   * its active runs before storing a new one take turns (SQLite transactions already do).
   */
  async lockPrincipal(principal: string): Promise<void> {
    if (this.db.kind === 'postgres') await sql`select pg_advisory_xact_lock(1095193675, hashtext(${principal}))`.execute(this.db.kysely); // 1095193675 = 'AGTK'
  }

  async activeRuns(principal: string): Promise<number> {
    const row = await this.db.kysely
      .selectFrom('runs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('principal', '=', principal)
      .where('status', 'in', ACTIVE_STATUSES)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }
}
