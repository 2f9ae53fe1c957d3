import type { LiveRun } from './live-run.js';
/**
 * Per-thread FIFO: one holder per thread, waiters served in arrival order.
 * A waiter whose signal aborts leaves the queue without blocking those behind it.
 */
export class ThreadLocks {
  private readonly queues = new Map<string, Array<{ grant: () => void }>>();

  acquire(threadId: string, signal?: AbortSignal): Promise<() => void> {
    let queue = this.queues.get(threadId);
    if (!queue) {
      queue = [];
      this.queues.set(threadId, queue);
    }
    const q = queue;
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      let released = false;
      const entry = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(() => {
            if (released) return;
            released = true;
            this.release(threadId, entry);
          });
        },
      };
      const onAbort = () => {
        const i = q.indexOf(entry);
        if (i > 0) q.splice(i, 1); // index 0 already holds the lock; its release handles it
        if (i > 0) reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      q.push(entry);
      if (q.length === 1) entry.grant();
    });
  }

  private release(threadId: string, entry: { grant: () => void }): void {
    const q = this.queues.get(threadId);
    if (!q || q[0] !== entry) return;
    q.shift();
    if (q.length === 0) this.queues.delete(threadId);
    else q[0].grant();
  }

  /** Number of runs holding or waiting for the thread (for tests and metrics). */
  depth(threadId: string): number {
    return this.queues.get(threadId)?.length ?? 0;
  }
}

/**
 * Gives a run its thread when several instances share the database: resolves with the release
 * once it may execute, rejects when its signal aborts first. Without one, `ThreadLocks` alone.
 */
export interface ThreadTurns {
  acquire(run: LiveRun, locks: ThreadLocks): Promise<() => void>;
  /** The run was stored running already (Store.startRun with `ifFree`): only the in-process lock is left to take. */
  claimed(run: LiveRun, locks: ThreadLocks): Promise<() => void>;
}
