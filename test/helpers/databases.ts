import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';

export type Dialect = 'sqlite' | 'postgres';

/** The dialects this run covers: SQLite always, PostgreSQL when TEST_DATABASE_URL is set. */
export function dialects(): Dialect[] {
  if (process.env.TEST_DATABASE_URL) return ['sqlite', 'postgres'];
  if (!warned) {
    warned = true;
    console.log('# PostgreSQL variants skipped: TEST_DATABASE_URL is not set');
  }
  return ['sqlite'];
}
let warned = false;

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A database of its own: a SQLite file in `dir`, or a fresh PostgreSQL schema dropped afterwards. */
export async function testDatabase(dialect: Dialect, dir: string): Promise<TestDatabase> {
  if (dialect === 'sqlite') return { url: `sqlite:${join(dir, 'db.sqlite')}`, drop: async () => {} };
  const base = process.env.TEST_DATABASE_URL!;
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  const url = new URL(base);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`drop schema if exists ${schema} cascade`);
      await c.end();
    },
  };
}
