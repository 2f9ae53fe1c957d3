import { CompiledQuery } from 'kysely';
import type { Db } from '../db/dialect.js';
import type { Changes } from './changes.js';

/** A run's consecutive events waiting for a flush: stored as one row (`seq`..`last`, their JSON array). */
interface Batch {
  seq: number;
  last: number;
  parts: string[];
}

/** A write that belongs to a run and goes with its next stored events, in their transaction. */
export type DeferredWrite = (db: Db) => CompiledQuery;

/** What one run has waiting for the next flush. */
interface Pending {
  batches: Batch[];
  deferred: DeferredWrite[];
}

type Flush = Map<string, Pending>;

/** SQLite allows 32 766 bound values per statement; 5 per row. */
const MAX_ROWS_PER_INSERT = 1000;

/**
 * Batches event inserts across all runs so persistence never sits on the streaming path:
 * `push` is synchronous, a timer (or `flush`) writes the batch. A run's consecutive events of
 * one flush are one row, so a run stores a few rows rather than one per event.
 */
export class EventWriter {
  private pending: Flush = new Map();
  private timer: NodeJS.Timeout | null = null;
  private inflight: Promise<void> = Promise.resolve();
  private readonly sqlCache = new Map<number, string>();
  /** Told the number of events in each batch written (metrics). */
  onBatch?: (events: number) => void;

  constructor(
    private readonly db: Db,
    private readonly intervalMs = 25,
    private readonly onError: (err: Error) => void = () => {},
    /** Told which runs have new stored events (PostgreSQL also NOTIFYs other instances by trigger). */
    private readonly changes?: Changes,
  ) {}

  push(runId: string, seq: number, data: string): void {
    const p = this.of(runId);
    const last = p.batches[p.batches.length - 1];
    if (last && seq === last.last + 1) {
      last.parts.push(data);
      last.last = seq;
    } else p.batches.push({ seq, last: seq, parts: [data] });
  }

  /**
   * Stores `write` with the run's next events, in their transaction (the run's end, or the next
   * flush): one commit for both. A model call's usage goes this way.
   */
  defer(runId: string, write: DeferredWrite): void {
    this.of(runId).deferred.push(write);
  }

  private of(runId: string): Pending {
    let p = this.pending.get(runId);
    if (!p) this.pending.set(runId, (p = { batches: [], deferred: [] }));
    if (!this.timer) this.timer = setTimeout(() => void this.flush().catch(() => {}), this.intervalMs);
    return p;
  }

  /** Resolves once every event (and deferred write) pushed before the call is stored. */
  flush(): Promise<void> {
    const batch = this.take();
    // Chain so batches land in push order and one insert runs at a time.
    this.inflight = this.inflight.then(() => this.write(batch));
    return this.inflight;
  }

  /**
   * Gives the run's buffered events and deferred writes, as statements, to the caller's batch
   * next to its own writes: one commit instead of two (a run's end stores its last events, turn
   * and status together). Other runs' events wait for the next flush, so each of their rows
   * gathers more. Batches already on their way land first; if the caller's batch fails the run's
   * events are written alone.
   */
  flushWith<T>(runId: string, write: (statements: CompiledQuery[]) => Promise<T>): Promise<T> {
    const batch = this.take(runId);
    const done = this.inflight.then(() => write(this.statements(batch)));
    this.inflight = done.then(
      () => this.announce(batch),
      () => this.write(batch),
    );
    return done;
  }

  /** Everything waiting, or one run's part of it. */
  private take(runId?: string): Flush {
    let batch: Flush;
    if (runId === undefined) {
      batch = this.pending;
      this.pending = new Map();
    } else {
      batch = new Map();
      const p = this.pending.get(runId);
      if (p) {
        batch.set(runId, p);
        this.pending.delete(runId);
      }
    }
    if (this.timer && this.pending.size === 0) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    return batch;
  }

  private async write(batch: Flush): Promise<void> {
    if (batch.size === 0) return;
    const deferred = [...batch.values()].some((p) => p.deferred.length > 0);
    try {
      const statements = this.statements(batch);
      if (statements.length === 1) await this.db.kysely.executeQuery(statements[0]);
      else if (statements.length) await this.db.batch(statements);
      this.announce(batch);
    } catch (err) {
      // A failed batch must not poison later ones; report it and carry on. Without the deferred
      // writes (one of which may be what failed) the events may still go in.
      this.onError(err as Error);
      if (deferred) await this.writeApart(batch);
    }
  }

  private async writeApart(batch: Flush): Promise<void> {
    try {
      const inserts = this.eventInserts(batch);
      if (inserts.length) await this.db.batch(inserts);
      this.announce(batch);
    } catch (err) {
      this.onError(err as Error);
    }
    for (const p of batch.values()) {
      for (const write of p.deferred) await this.db.kysely.executeQuery(write(this.db)).catch((err: Error) => this.onError(err));
    }
  }

  /** The batch's event inserts, then its deferred writes. */
  private statements(batch: Flush): CompiledQuery[] {
    const statements = this.eventInserts(batch);
    for (const p of batch.values()) for (const write of p.deferred) statements.push(write(this.db));
    return statements;
  }

  private eventInserts(batch: Flush): CompiledQuery[] {
    // One timestamp per batch: events in it were emitted within one flush interval.
    const now = new Date().toISOString();
    const inserts: CompiledQuery[] = [];
    let params: unknown[] = [];
    let rows = 0;
    for (const [runId, p] of batch) {
      for (const b of p.batches) {
        params.push(runId, b.seq, b.last, `[${b.parts.join(',')}]`, now);
        if (++rows === MAX_ROWS_PER_INSERT) {
          inserts.push(CompiledQuery.raw(this.insertSql(rows), params));
          params = [];
          rows = 0;
        }
      }
    }
    if (rows) inserts.push(CompiledQuery.raw(this.insertSql(rows), params));
    return inserts;
  }

  /** The batch is stored: metrics, and wake-ups for its runs' readers. */
  private announce(batch: Flush): void {
    if (this.onBatch) {
      let events = 0;
      for (const p of batch.values()) for (const b of p.batches) events += b.parts.length;
      if (events) this.onBatch(events);
    }
    if (!this.changes?.size) return;
    for (const [runId, p] of batch) if (p.batches.length) this.changes.publish(`run:${runId}`);
  }

  /**
   * The hottest statement is written by hand: building it through the query builder costs more
   * than running it. Cached per row count.
   */
  private insertSql(rows: number): string {
    let text = this.sqlCache.get(rows);
    if (!text) {
      const p = this.db.placeholder;
      const values = Array.from({ length: rows }, (_, r) => `(${[1, 2, 3, 4, 5].map((c) => p(r * 5 + c)).join(', ')})`);
      text = `insert into run_events (run_id, seq, last_seq, data, created_at) values ${values.join(', ')}`;
      // Several instances: a run whose lease lapsed may already have been closed by another
      // instance with a terminal event; that one row must not fail the whole batch.
      if (this.db.kind === 'postgres') text += ' on conflict do nothing';
      if (this.sqlCache.size > 200) this.sqlCache.clear();
      this.sqlCache.set(rows, text);
    }
    return text;
  }
}
