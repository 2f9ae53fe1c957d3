import { CompiledQuery, type Compilable, type QueryResult } from 'kysely';
import type { Db } from './dialect.js';

const ARG = '\u0000arg:';

/**
 * A hot-path statement written with Kysely's builder but built and compiled once per dialect:
 * later calls only bind new arguments (building and compiling cost more than running the
 * statement on SQLite). `build` receives stand-ins for its arguments and must pass each one
 * to the builder as it is (no branching on them, no transforming them).
 */
export function prepared<A extends unknown[], R = Record<string, any>>(build: (db: Db, ...args: A) => Compilable<R>): (db: Db, ...args: A) => Promise<QueryResult<R>> {
  // Every parameter after `db` is an argument the statement binds.
  const arity = build.length - 1;
  const compiled = new Map<Db['kind'], { sql: string; slots: Array<number | { value: unknown }> }>();
  return async (db, ...args) => {
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
    const params = c.slots.map((s) => (typeof s === 'number' ? args[s] : s.value));
    return db.kysely.executeQuery<R>(CompiledQuery.raw(c.sql, params));
  };
}
