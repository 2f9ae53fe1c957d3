import { CompiledQuery, type Compilable, type QueryResult } from 'kysely';
import type { Db } from './dialect.js';

const ARG = '\u0000arg:';

/** A prepared statement: run it, or take it bound to its arguments for `Db.batch`. */
export interface Prepared<A extends unknown[], R> {
  (db: Db, ...args: A): Promise<QueryResult<R>>;
  query(db: Db, ...args: A): CompiledQuery<R>;
}

/**
 * A hot-path statement written with Kysely's builder but built and compiled once per dialect:
 * later calls only bind new arguments (building and compiling cost more than running the
 * statement on SQLite). `build` receives stand-ins for its arguments and must pass each one
 * to the builder as it is (no branching on them, no transforming them).
 */
export function prepared<A extends unknown[], R = Record<string, any>>(build: (db: Db, ...args: A) => Compilable<R>): Prepared<A, R> {
  // Every parameter after `db` is an argument the statement binds.
  const arity = build.length - 1;
  const compiled = new Map<Db['kind'], { sql: string; slots: Array<number | { value: unknown }> }>();
  const query = (db: Db, ...args: A): CompiledQuery<R> => {
    let c = compiled.get(db.kind);
    if (!c) {
      const standIns = Array.from({ length: arity }, (_, i) => `${ARG}${i}`) as A;
      const q = build(db, ...standIns).compile();
      const slots = q.parameters.map((p) => (typeof p === 'string' && p.startsWith(ARG) ? Number(p.slice(ARG.length)) : { value: p }));
      const used = new Set(slots.filter((s): s is number => typeof s === 'number'));
      if (used.size !== arity) throw new Error(`prepared statement uses ${used.size} of its ${arity} arguments: ${q.sql}`);
      c = { sql: q.sql, slots };
      compiled.set(db.kind, c);
    }
    return CompiledQuery.raw(c.sql, c.slots.map((s) => (typeof s === 'number' ? args[s] : s.value))) as CompiledQuery<R>;
  };
  const run = (async (db: Db, ...args: A) => db.kysely.executeQuery<R>(query(db, ...args))) as Prepared<A, R>;
  run.query = query;
  return run;
}
