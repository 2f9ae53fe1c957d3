/**
 * In-process wake-ups for readers of the database: "run X has new rows", "thread Y's queue
 * moved". Fed by this process's own writes (the event writer) and, on PostgreSQL, by
 * LISTEN/NOTIFY from every instance sharing the database. A change only says "read again";
 * readers always take the truth from the tables, so a duplicate or spurious wake-up is harmless
 * and a lost one costs at most the caller's fallback interval.
 */
export class Changes {
  private readonly watchers = new Map<string, Set<Watch>>();

  /** Number of keys someone is watching (writers skip publishing when nobody listens). */
  get size(): number {
    return this.watchers.size;
  }

  publish(key: string): void {
    const set = this.watchers.get(key);
    if (set) for (const w of set) w.bump();
  }

  /** Everything may have changed (e.g. the notification connection was re-established). */
  publishAll(): void {
    for (const set of this.watchers.values()) for (const w of set) w.bump();
  }

  /**
   * Starts watching `key`. Read `version` before reading the table, then `wait(version, …)`:
   * a change published in between makes the wait return at once, so none is lost.
   */
  watch(key: string): Watch {
    const w = new Watch(() => {
      const set = this.watchers.get(key);
      set?.delete(w);
      if (set?.size === 0) this.watchers.delete(key);
    });
    let set = this.watchers.get(key);
    if (!set) this.watchers.set(key, (set = new Set()));
    set.add(w);
    return w;
  }
}

export class Watch {
  version = 0;
  private wake: (() => void) | null = null;

  constructor(private readonly unregister: () => void) {}

  bump(): void {
    this.version++;
    this.wake?.();
  }

  /**
   * Resolves when the version moved past `seen` (at once if it already has), after `fallbackMs`
   * (the safety net for a lost notification), or rejects with the signal's reason when it aborts.
   */
  wait(seen: number, fallbackMs: number, signal?: AbortSignal): Promise<void> {
    if (this.version !== seen) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.wake = null;
      };
      const onAbort = () => {
        done();
        reject(signal!.reason);
      };
      const timer = setTimeout(() => {
        done();
        resolve();
      }, fallbackMs);
      this.wake = () => {
        done();
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  close(): void {
    this.wake = null;
    this.unregister();
  }
}
