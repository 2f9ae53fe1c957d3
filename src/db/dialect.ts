import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { dirname, resolve } from 'node:path';
import { Kysely, PostgresDialect, SqliteDialect, sql, type CompiledQuery, type QueryResult, type RawBuilder, type SqliteDatabase } from 'kysely';
import type { Database } from './schema.js';

/**
 * Everything that differs between SQLite and PostgreSQL lives here: the driver,
 * column types used by migrations, and how JSON and timestamps come back.
 */
export interface Db {
  kind: 'sqlite' | 'postgres';
  kysely: Kysely<Database>;
  types: { json: 'text' | 'jsonb'; time: 'text' | 'timestamptz' };
  /** Bind placeholder number `i` (1-based) for hand-written hot-path SQL. */
  placeholder(i: number): string;
  /** A JSON column's value: SQLite gives its text, PostgreSQL (jsonb) the parsed value, top-level strings included. */
  json<T = unknown>(v: unknown): T;
  time(v: string | Date | null): string | null;
  /**
   * The database's clock (plus `plusMs`) as a time value, so instances on several hosts
   * compare leases against one clock. ISO text on SQLite, timestamptz on PostgreSQL.
   */
  now(plusMs?: number): RawBuilder<string>;
  /**
   * Statements that belong together, in one transaction, in order; each statement's result.
   * None may depend on another's result: on PostgreSQL they go out together with the begin and
   * the commit (one round trip, pipelined), on SQLite they run in one synchronous transaction.
   * Rejects with the first statement's error, and then nothing of it is stored.
   */
  batch(queries: readonly CompiledQuery[]): Promise<QueryResult<any>[]>;
  /**
   * PostgreSQL only (null on SQLite, where one process owns the file): a dedicated connection,
   * outside the pool, that LISTENs on `channel` and reconnects when it drops.
   */
  listen: ((channel: string, handlers: ListenHandlers) => Promise<Listener>) | null;
  /** PostgreSQL only: the pool's connection counts (metrics). */
  poolStats?: () => { total: number; idle: number; waiting: number };
  close(): Promise<void>;
}

export interface ListenHandlers {
  /** One NOTIFY payload on the channel. */
  message(payload: string): void;
  /** Listening (again) after a (re)connect: notifications sent while disconnected were lost. */
  ready(reconnected: boolean): void;
  /** The connection failed or dropped; a reconnect is scheduled. */
  error(err: Error): void;
}

export interface Listener {
  close(): Promise<void>;
}

export function sqlitePath(url: string): string {
  if (url === ':memory:' || url === 'sqlite::memory:') return ':memory:';
  return resolve(url.replace(/^sqlite:(\/\/)?/, ''));
}

/** `checkpointMs`: how often SQLite's log is checkpointed (tests shorten it). */
export async function openDb(url: string, opts: { poolSize?: number; checkpointMs?: number } = {}): Promise<Db> {
  if (/^postgres(ql)?:\/\//.test(url)) {
    const pg = (await import('pg')).default;
    // Keep bigint counters as JS numbers (they stay far below 2^53).
    pg.types.setTypeParser(20, (v: string) => Number(v));
    // Pipeline mode: a client sends each query as it is given, without waiting for the one before
    // (batch() relies on it); Kysely awaits each of its own queries, so nothing else changes.
    const pool = new pg.Pool({ connectionString: url, max: opts.poolSize ?? 10, Client: namedStatements(pg), pipeline: true } as import('pg').PoolConfig);
    const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return {
      kind: 'postgres',
      kysely,
      types: { json: 'jsonb', time: 'timestamptz' },
      placeholder: (i) => `$${i}`,
      json: <T>(v: unknown) => v as T,
      time: (v) => (v === null ? null : v instanceof Date ? v.toISOString() : new Date(v).toISOString()),
      now: (plusMs = 0) => (plusMs ? sql<string>`(now() + ${`${plusMs} milliseconds`}::interval)` : sql<string>`now()`),
      batch: (queries) => pgBatch(pg, pool, queries),
      listen: (channel, handlers) => pgListen(pg, url, channel, handlers),
      poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
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
  const checkpointer = path === ':memory:' ? null : startCheckpointer(path, opts.checkpointMs);
  if (checkpointer) database.pragma('wal_autocheckpoint = 0');
  // The log is reused from the top after each restart; this only trims it back after a burst.
  database.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
  const cached = withStatementCache(database);
  const kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database: cached }) });
  const runAll = database.transaction((queries: readonly CompiledQuery[]) => queries.map((q) => sqliteRun(cached, q)));
  return {
    kind: 'sqlite',
    kysely,
    types: { json: 'text', time: 'text' },
    placeholder: () => '?',
    json: <T>(v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v) as T,
    time: (v) => (v === null ? null : v instanceof Date ? v.toISOString() : v),
    // The same text form as Date#toISOString(), so stored times compare as strings.
    now: (plusMs = 0) => sql<string>`strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ${`${plusMs / 1000} seconds`})`,
    // Under Kysely's connection (its lock): no transaction of Kysely's is open meanwhile.
    batch: (queries) => kysely.connection().execute(async () => runAll(queries)),
    listen: null,
    close: async () => {
      await checkpointer?.terminate();
      await kysely.destroy();
    },
  };
}

/** One statement on better-sqlite3, with the result Kysely's SQLite driver would give. */
function sqliteRun(database: SqliteDatabase, q: CompiledQuery): QueryResult<any> {
  const stmt = database.prepare(q.sql);
  if (stmt.reader) return { rows: stmt.all(q.parameters) as any[] };
  const { changes } = stmt.run(q.parameters);
  return { rows: [], numAffectedRows: BigInt(changes) };
}

/**
 * begin, the statements and commit written to the connection at once (one round trip): the client
 * is in pipeline mode, and corking the socket makes them one write. A statement that fails
 * aborts the transaction, so the ones after it fail too and the commit rolls back.
 */
async function pgBatch(pg: typeof import('pg').default, pool: import('pg').Pool, queries: readonly CompiledQuery[]): Promise<QueryResult<any>[]> {
  const client = await pool.connect();
  let lost: Error | undefined;
  try {
    const socket = (client as unknown as { connection?: { stream?: { cork?(): void; uncork?(): void } } }).connection?.stream;
    socket?.cork?.();
    let sent: Array<Promise<import('pg').QueryResult>>;
    try {
      sent = [client.query('begin'), ...queries.map((q) => client.query(q.sql, q.parameters as unknown[])), client.query('commit')];
    } finally {
      socket?.uncork?.();
    }
    const settled = await Promise.allSettled(sent);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      // An error from the database leaves the connection usable; any other means it is gone.
      if (!(failed.reason instanceof pg.DatabaseError)) lost = failed.reason as Error;
      throw failed.reason;
    }
    const results = (settled as Array<PromiseFulfilledResult<import('pg').QueryResult>>).map((s) => s.value);
    if (results.at(-1)!.command !== 'COMMIT') throw new Error(`the batch's transaction ended with ${results.at(-1)!.command}`);
    return results.slice(1, -1).map((r) => ({ rows: r.rows ?? [], numAffectedRows: r.rowCount === null ? undefined : BigInt(r.rowCount) }));
  } finally {
    client.release(lost);
  }
}

/**
 * LISTEN on a connection of its own (a pooled one would be handed to other queries). When it
 * drops it is re-opened with backoff (0.1 s doubling to 5 s); `ready(true)` then tells the
 * caller that notifications may have been missed in between.
 */
async function pgListen(pg: typeof import('pg').default, url: string, channel: string, handlers: ListenHandlers): Promise<Listener> {
  if (!/^[a-z0-9_]{1,63}$/.test(channel)) throw new Error(`invalid notification channel "${channel}"`);
  let current: import('pg').Client | null = null;
  let closed = false;
  let delay = 100;
  let timer: NodeJS.Timeout | undefined;

  // Only the current connection's loss matters; failures while connecting reject connect().
  const dropped = (client: import('pg').Client, err: Error) => {
    if (current !== client) return;
    current = null;
    client.removeAllListeners('notification');
    void client.end().catch(() => {});
    handlers.error(err);
    if (!closed) schedule();
  };
  const connect = async (reconnect: boolean): Promise<void> => {
    const client = new pg.Client({ connectionString: url, keepAlive: true, application_name: `listen:${channel}` });
    client.on('error', (err) => dropped(client, err));
    client.on('end', () => dropped(client, new Error('the notification connection ended')));
    client.on('notification', (m) => {
      if (m.channel === channel) handlers.message(m.payload ?? '');
    });
    try {
      await client.connect();
      await client.query(`listen ${channel}`);
    } catch (err) {
      void client.end().catch(() => {});
      throw err;
    }
    if (closed) return void (await client.end().catch(() => {}));
    current = client;
    delay = 100;
    handlers.ready(reconnect);
  };
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      connect(true).catch((err) => {
        handlers.error(err as Error);
        delay = Math.min(delay * 2, 5000);
        if (!closed) schedule();
      });
    }, delay);
    timer.unref();
  };

  await connect(false);
  return {
    close: async () => {
      closed = true;
      clearTimeout(timer);
      const client = current;
      current = null;
      if (client) {
        client.removeAllListeners('end');
        client.removeAllListeners('error');
        client.on('error', () => {});
        await client.end().catch(() => {});
      }
    },
  };
}

/**
 * Kysely prepares every query anew; preparing costs more than running our small
 * statements. Reusing prepared statements is safe: better-sqlite3 runs them synchronously.
 */
function withStatementCache(database: SqliteDatabase, max = 500): SqliteDatabase {
  const cache = new Map<string, ReturnType<SqliteDatabase['prepare']>>();
  const prepare = (sql: string) => {
    let stmt = cache.get(sql);
    if (stmt === undefined) {
      stmt = database.prepare(sql);
      // Multi-row inserts vary in shape; keep the cache bounded (oldest out first).
      if (cache.size >= max) cache.delete(cache.keys().next().value!);
      cache.set(sql, stmt);
    }
    return stmt;
  };
  return { prepare, close: () => database.close() };
}

/**
 * WAL checkpoints copy the log into the database and fsync; done by the writing
 * connection they stall the event loop (p99 at c=50 went from ~0.2 s to ~1.5 s).
 * A worker thread with its own connection checkpoints instead, without blocking writers.
 *
 * A passive checkpoint alone never lets the log start over under steady load: the writer
 * restarts it only when it finds every frame copied, and new frames keep arriving while a
 * checkpoint copies. The file then grows without bound (300 MB in 12 s of the bench), and
 * every commit appends to new pages the kernel must zero first (a fifth of a run's CPU).
 * So once a passive pass has copied nearly everything, a RESTART pass copies the short rest,
 * holding the writer off for that moment, and the writer's next commit starts from the top of
 * the file again (pages already cached). `journal_size_limit` trims the file after a burst.
 */
function startCheckpointer(path: string, everyMs = 1000, restartTailFrames = 2000): Worker {
  const worker = new Worker(
    `const { workerData: w } = require('node:worker_threads');
     const db = new (require(w.driver))(w.path);
     db.pragma('busy_timeout = 5000');
     setInterval(() => {
       try {
         const { log, checkpointed } = db.pragma('wal_checkpoint(PASSIVE)')[0];
         if (log > 0 && log - checkpointed <= w.restartTailFrames) db.pragma('wal_checkpoint(RESTART)');
       } catch {}
     }, w.everyMs);`,
    { eval: true, workerData: { path, everyMs, restartTailFrames, driver: createRequire(import.meta.url).resolve('better-sqlite3') } },
  );
  worker.unref();
  return worker;
}

/** At most this many named statements per connection: the hot ones are few, and each costs PostgreSQL a cached plan. */
const NAMED_PER_CONNECTION = 64;

/**
 * A pg client that prepares the statements it sends repeatedly, by name: PostgreSQL then parses
 * and plans each once per connection instead of on every run (Kysely sends every statement
 * unnamed). A statement is named on its second use; texts beyond the caps stay unnamed.
 */
function namedStatements(pg: typeof import('pg').default): typeof import('pg').Client {
  const Base = pg.Client;
  class Named extends (Base as any) {
    /** Texts seen once (true) or named (their name). */
    private readonly seen = new Map<string, string | true>();
    private named = 0;

    constructor(config: unknown) {
      super(config);
      // A statement is five protocol messages, a batch dozens: corked, Node hands them to one
      // writev as as many buffers. One buffer costs the kernel less (loopback: 0.16 -> 0.10 ms of
      // system time per 7-statement batch here). A TLS socket replaces this one and writes its own way.
      const socket = (this as any).connection?.stream;
      if (socket && typeof socket._writev === 'function') {
        socket._writev = function (this: any, chunks: Array<{ chunk: Buffer | string; encoding: BufferEncoding }>, cb: (err?: Error | null) => void) {
          const buffers = chunks.map((c) => (typeof c.chunk === 'string' ? Buffer.from(c.chunk, c.encoding) : c.chunk));
          this._write(buffers.length === 1 ? buffers[0] : Buffer.concat(buffers), 'buffer', cb);
        };
      }
    }

    query(...args: any[]): any {
      const [text, values] = args;
      if (typeof text === 'string' && Array.isArray(values) && values.length > 0 && args.length === 2) {
        const known = this.seen.get(text);
        if (typeof known === 'string') return this.byName(known, text, values);
        if (known === true && this.named < NAMED_PER_CONNECTION) {
          const name = `agent_server_${++this.named}`;
          this.seen.set(text, name);
          return this.byName(name, text, values);
        }
        if (known === undefined && this.seen.size < NAMED_PER_CONNECTION * 4) this.seen.set(text, true);
      }
      return super.query(...args);
    }

    /** A Query built from text and values, then named: pg copies a config object property by property on every call. */
    private byName(name: string, text: string, values: unknown[]): Promise<unknown> {
      return new Promise((resolve, reject) => {
        const query = new pg.Query(text, values, (err: Error | undefined, res: unknown) => (err ? reject(err) : resolve(res)));
        (query as unknown as { name: string }).name = name;
        super.query(query);
      });
    }
  }
  return Named as unknown as typeof import('pg').Client;
}
