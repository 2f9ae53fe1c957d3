import { sql, type CompiledQuery } from 'kysely';
import type { Usage } from '../../contracts/common.js';
import type { Db } from '../db/dialect.js';
import { prepared } from '../db/prepared.js';
import { newId } from '../ids.js';

export type UsageDimension = 'day' | 'agent' | 'model' | 'principal';

/** Summed tokens of one group (the dimensions asked for are set, the others absent). */
export interface UsageRow extends Usage {
  day?: string;
  agent_id?: string;
  model?: string;
  principal?: string | null;
  calls: number;
}

const COLUMN: Record<UsageDimension, 'day' | 'agent_id' | 'model' | 'principal'> = { day: 'day', agent: 'agent_id', model: 'model', principal: 'principal' };

/** Per-model-call usage rows, and the sums the usage API and the daily budget read. */
export class UsageRepo {
  constructor(private readonly db: Db) {}

  /**
   * One model call's usage, stored when the call ends (failed calls too). Thread, agent and
   * principal come from the run's row, so they are the ones its listing shows.
   */
  async record(runId: string, model: string, step: number, u: Usage, now = new Date()): Promise<void> {
    await this.db.kysely.executeQuery(usageStatement(this.db, runId, model, step, u, now));
  }

  /** Sums grouped by `dims`; `principal` undefined = everyone's. Times are ISO, `to` exclusive. */
  async totals(f: { dims: UsageDimension[]; principal?: string; from?: string; to?: string; threadId?: string; runId?: string }): Promise<UsageRow[]> {
    let q = this.db.kysely.selectFrom('usage_records');
    if (f.principal !== undefined) q = q.where('principal', '=', f.principal);
    if (f.threadId !== undefined) q = q.where('thread_id', '=', f.threadId);
    if (f.runId !== undefined) q = q.where('run_id', '=', f.runId);
    if (f.from) q = q.where('created_at', '>=', new Date(f.from).toISOString());
    if (f.to) q = q.where('created_at', '<', new Date(f.to).toISOString());
    const cols = f.dims.map((d) => COLUMN[d]);
    for (const c of cols) q = q.groupBy(c).orderBy(c);
    const rows = await q
      .select(cols)
      .select((eb) => [
        eb.fn.sum<number>('input_tokens').as('input_tokens'),
        eb.fn.sum<number>('output_tokens').as('output_tokens'),
        eb.fn.sum<number>('cache_read_tokens').as('cache_read_tokens'),
        eb.fn.sum<number>('cache_write_tokens').as('cache_write_tokens'),
        eb.fn.countAll<number>().as('calls'),
      ])
      .execute();
    return rows
      .filter((r) => Number(r.calls) > 0)
      .map((r: Record<string, any>) => {
        const out: UsageRow = {
          input_tokens: Number(r.input_tokens ?? 0),
          output_tokens: Number(r.output_tokens ?? 0),
          cache_read_input_tokens: Number(r.cache_read_tokens ?? 0),
          cache_creation_input_tokens: Number(r.cache_write_tokens ?? 0),
          calls: Number(r.calls),
        };
        if (cols.includes('day')) out.day = r.day;
        if (cols.includes('agent_id')) out.agent_id = r.agent_id;
        if (cols.includes('model')) out.model = r.model;
        if (cols.includes('principal')) out.principal = r.principal ?? null;
        return out;
      });
  }

  /** Every token (input, output, cache reads and writes) the principal's runs spent since `since`. */
  async tokensSince(principal: string, since: string): Promise<number> {
    const row = await this.db.kysely
      .selectFrom('usage_records')
      .select(sql<number>`coalesce(sum(input_tokens + output_tokens + cache_read_tokens + cache_write_tokens), 0)`.as('n'))
      .where('principal', '=', principal)
      .where('created_at', '>=', since)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }
}

/** The statement that stores one model call's usage (UsageRepo.record; runs batch it with their events). */
export function usageStatement(db: Db, runId: string, model: string, step: number, u: Usage, now: Date): CompiledQuery {
  const at = now.toISOString();
  return insertUsage.query(db, newId('usage'), model, step, u.input_tokens, u.output_tokens, u.cache_read_input_tokens, u.cache_creation_input_tokens, at.slice(0, 10), at, runId);
}

// One statement (INSERT … SELECT): no round trip to read the run first (a missing run inserts nothing).
// Numbers are cast: PostgreSQL types a bare parameter in a select list as text.
const insertUsage = prepared(
  (db, id: string, model: string, step: number, input: number, output: number, cacheRead: number, cacheWrite: number, day: string, createdAt: string, runId: string) => {
    const int = (n: number) => sql<number>`cast(${n} as integer)`;
    return db.kysely
      .insertInto('usage_records')
      .columns(['id', 'run_id', 'thread_id', 'agent_id', 'principal', 'model', 'step', 'input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_write_tokens', 'day', 'created_at'])
      .expression((eb) =>
        eb
          .selectFrom('runs')
          .select([
            eb.val(id).as('id'),
            'id as run_id',
            'thread_id',
            'agent_id',
            'principal',
            eb.val(model).as('model'),
            int(step).as('step'),
            int(input).as('input_tokens'),
            int(output).as('output_tokens'),
            int(cacheRead).as('cache_read_tokens'),
            int(cacheWrite).as('cache_write_tokens'),
            eb.val(day).as('day'),
            eb.val(createdAt).as('created_at'),
          ])
          .where('id', '=', runId),
      );
  },
);
