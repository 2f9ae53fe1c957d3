import type { Db } from '../db/dialect.js';

interface Row {
  run_id: string;
  seq: number;
  type: string;
  data: string;
  created_at: string;
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
  private failure: Error | null = null;

  constructor(
    private readonly db: Db,
    private readonly intervalMs = 25,
    private readonly onError: (err: Error) => void = () => {},
  ) {}

  push(runId: string, seq: number, type: string, data: string): void {
    this.buffer.push({ run_id: runId, seq, type, data, created_at: new Date().toISOString() });
    if (!this.timer) this.timer = setTimeout(() => void this.flush().catch(() => {}), this.intervalMs);
  }

  /** Resolves once every event pushed before the call is stored. */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = this.buffer;
    this.buffer = [];
    // Chain so batches land in push order and one insert runs at a time.
    this.inflight = this.inflight.then(() => this.write(batch));
    return this.inflight;
  }

  private async write(batch: Row[]): Promise<void> {
    for (let i = 0; i < batch.length; i += MAX_ROWS_PER_INSERT) {
      try {
        await this.db.kysely.insertInto('run_events').values(batch.slice(i, i + MAX_ROWS_PER_INSERT)).execute();
      } catch (err) {
        // A failed batch must not poison later ones; report it and carry on.
        this.failure = err as Error;
        this.onError(err as Error);
      }
    }
  }

  get lastError(): Error | null {
    return this.failure;
  }
}
