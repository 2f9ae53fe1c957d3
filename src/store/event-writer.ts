import { CompiledQuery } from 'kysely';
import type { Db } from '../db/dialect.js';
import type { Changes } from './changes.js';

interface Row {
  run_id: string;
  seq: number;
  type: string;
  data: string;
}

/** SQLite allows 32 766 bound values per statement; 5 per row. */
const MAX_ROWS_PER_INSERT = 1000;

/**
 * Batches event inserts across all runs so persistence never sits on the
 * streaming path: `push` is synchronous, a timer (or `flush`) writes the batch.
 */
export class EventWriter {
  private buffer: Row[] = [];
  private timer: NodeJS.Timeout | null = null;
  private inflight: Promise<void> = Promise.resolve();
  private readonly sqlCache = new Map<number, string>();
  /** Told the size of each batch written (metrics). */
  onBatch?: (rows: number) => void;

  constructor(
    private readonly db: Db,
    private readonly intervalMs = 25,
    private readonly onError: (err: Error) => void = () => {},
    /** Told which runs have new stored events (PostgreSQL also NOTIFYs other instances by trigger). */
    private readonly changes?: Changes,
  ) {}

  push(runId: string, seq: number, type: string, data: string): void {
    this.buffer.push({ run_id: runId, seq, type, data });
    if (!this.timer) this.timer = setTimeout(() => void this.flush().catch(() => {}), this.intervalMs);
  }

  /** Resolves once every event pushed before the call is stored. */
  flush(): Promise<void> {
    const batch = this.take();
    // Chain so batches land in push order and one insert runs at a time.
    this.inflight = this.inflight.then(() => this.write(batch));
    return this.inflight;
  }

  /**
   * Writes every buffered event inside the caller's transaction, next to its own writes: one
   * commit instead of two (a run's end stores its last events, turn and status together).
   * Batches already on their way land first; if the transaction fails the events are written alone.
   */
  flushWith<T>(tx: (insertEvents: (db: Db) => Promise<void>) => Promise<T>): Promise<T> {
    const batch = this.take();
    const done = this.inflight.then(() => tx((db) => this.insert(db, batch)));
    this.inflight = done.then(
      () => this.announce(batch),
      () => this.write(batch),
    );
    return done;
  }

  private take(): Row[] {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = this.buffer;
    this.buffer = [];
    return batch;
  }

  private async write(batch: Row[]): Promise<void> {
    try {
      await this.insert(this.db, batch);
      this.announce(batch);
    } catch (err) {
      // A failed batch must not poison later ones; report it and carry on.
      this.onError(err as Error);
    }
  }

  private async insert(db: Db, batch: Row[]): Promise<void> {
    // One timestamp per batch: events in it were emitted within one flush interval.
    const now = new Date().toISOString();
    if (batch.length) this.onBatch?.(batch.length);
    for (let i = 0; i < batch.length; i += MAX_ROWS_PER_INSERT) {
      const rows = batch.slice(i, i + MAX_ROWS_PER_INSERT);
      const params: unknown[] = [];
      for (const r of rows) params.push(r.run_id, r.seq, r.type, r.data, now);
      await db.kysely.executeQuery(CompiledQuery.raw(this.insertSql(rows.length), params));
    }
  }

  private announce(batch: Row[]): void {
    if (!this.changes?.size) return;
    let previous = '';
    for (const r of batch) if (r.run_id !== previous) this.changes.publish(`run:${(previous = r.run_id)}`);
  }

  /**
   * The hottest statement (one row per event) is written by hand: building it
   * through the query builder costs more than running it. Cached per row count.
   */
  private insertSql(rows: number): string {
    let text = this.sqlCache.get(rows);
    if (!text) {
      const p = this.db.placeholder;
      const values = Array.from({ length: rows }, (_, r) => `(${[1, 2, 3, 4, 5].map((c) => p(r * 5 + c)).join(', ')})`);
      text = `insert into run_events (run_id, seq, type, data, created_at) values ${values.join(', ')}`;
      // Several instances: a run whose lease lapsed may already have been closed by another
      // instance with a terminal event; that one row must not fail the whole batch.
      if (this.db.kind === 'postgres') text += ' on conflict do nothing';
      if (this.sqlCache.size > 200) this.sqlCache.clear();
      this.sqlCache.set(rows, text);
    }
    return text;
  }
}
