import type { Logger } from 'pino';
import type { LiveRun } from '../runtime/live-run.js';
import type { ThreadLocks, ThreadTurns } from '../runtime/thread-lock.js';
import type { Changes } from '../store/changes.js';
import type { ClusterRepo } from '../store/cluster.js';

/** How long a queued run waits for a wake-up before it checks the queue anyway. */
export const TURN_FALLBACK_MS = 2000;

/**
 * Per-thread FIFO across instances on PostgreSQL. The queue is the runs table itself: a run may
 * begin once no other run of its thread is running and none that arrived earlier (column
 * `arrival`, numbered at insert under the same lock, so per thread it is commit order) is still
 * queued; the check-and-set runs under a transaction-scoped advisory lock on the thread
 * (ClusterRepo.claimTurn). A queued run retries when its thread's queue moves
 * (NOTIFY from the trigger on runs, whichever instance ended the run) and every
 * TURN_FALLBACK_MS in case a notification was lost. Its timeout and cancel abort the wait, and
 * its final status takes it out of the queue. The thread is held until the run's row leaves
 * `running`; the in-process lock is taken on top, so runs that only use it (in this process)
 * never overlap a run holding the database turn either.
 */
export class DatabaseTurns implements ThreadTurns {
  /** Runs of this process that went through the queue and have not ended. */
  readonly live = new Set<LiveRun>();

  constructor(
    private readonly repo: ClusterRepo,
    private readonly changes: Changes,
    private readonly logger: Logger,
  ) {}

  async acquire(run: LiveRun, locks: ThreadLocks): Promise<() => void> {
    this.live.add(run);
    const watch = this.changes.watch(`thread:${run.threadId}`);
    try {
      await rowStored(run);
      for (;;) {
        const seen = watch.version;
        const claim = await this.repo.claimTurn(run.runId, run.threadId);
        if (claim === 'claimed') break;
        if (claim === 'gone') {
          // Not queued any more although this process still holds it: another instance took it
          // for dead (lease lost) or the thread was deleted. It ends as interrupted.
          if (!run.signal.aborted) {
            this.logger.warn({ runId: run.runId }, 'a queued run left the queue without this instance; interrupting it');
            run.controller.abort('shutdown');
          }
          throw run.signal.reason;
        }
        await watch.wait(seen, TURN_FALLBACK_MS, run.signal);
      }
    } catch (err) {
      this.live.delete(run);
      throw err;
    } finally {
      watch.close();
    }
    return this.hold(run, locks);
  }

  claimed(run: LiveRun, locks: ThreadLocks): Promise<() => void> {
    this.live.add(run);
    return this.hold(run, locks);
  }

  /** The run has the database turn: it stays in `live` until it ends, and takes the in-process lock. */
  private hold(run: LiveRun, locks: ThreadLocks): Promise<() => void> {
    void run.done.then(() => this.live.delete(run));
    return locks.acquire(run.threadId, run.signal);
  }
}

/** The run's row exists once the runtime has emitted its first event (`run.started`). */
function rowStored(run: LiveRun): Promise<void> {
  if (run.events.length > 0) return Promise.resolve();
  if (run.signal.aborted) return Promise.reject(run.signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      unsubscribe();
      reject(run.signal.reason);
    };
    const unsubscribe = run.subscribe(() => {
      unsubscribe();
      run.signal.removeEventListener('abort', onAbort);
      resolve();
    });
    run.signal.addEventListener('abort', onAbort, { once: true });
  });
}
