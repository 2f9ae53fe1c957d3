import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import type { Database } from './schema.js';

/**
 * Everything that differs between SQLite and PostgreSQL lives here: the driver,
 * column types used by migrations, and how JSON and timestamps come back.
 */
export interface Db {
  kind: 'sqlite' | 'postgres';
  kysely: Kysely<Database>;
  types: { json: 'text' | 'jsonb'; time: 'text' | 'timestamptz' };
  json<T = unknown>(v: unknown): T;
  time(v: string | Date | null): string | null;
  close(): Promise<void>;
}

export function sqlitePath(url: string): string {
  if (url === ':memory:' || url === 'sqlite::memory:') return ':memory:';
  return resolve(url.replace(/^sqlite:(\/\/)?/, ''));
}

export async function openDb(url: string, opts: { poolSize?: number } = {}): Promise<Db> {
  const json = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;
  if (/^postgres(ql)?:\/\//.test(url)) {
    const pg = (await import('pg')).default;
    // Keep bigint counters as JS numbers (they stay far below 2^53).
    pg.types.setTypeParser(20, (v: string) => Number(v));
    const pool = new pg.Pool({ connectionString: url, max: opts.poolSize ?? 10 });
    const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return {
      kind: 'postgres',
      kysely,
      types: { json: 'jsonb', time: 'timestamptz' },
      json,
      time: (v) => (v === null ? null : v instanceof Date ? v.toISOString() : new Date(v).toISOString()),
      close: () => kysely.destroy(),
    };
  }
  const Sqlite = (await import('better-sqlite3')).default;
  const path = sqlitePath(url);
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const database = new Sqlite(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  const kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  return {
    kind: 'sqlite',
    kysely,
    types: { json: 'text', time: 'text' },
    json,
    time: (v) => (v === null ? null : v instanceof Date ? v.toISOString() : v),
    close: () => kysely.destroy(),
  };
}
