import { EventEmitter, on } from 'node:events';
import type { RunEvent } from '../../contracts/events.js';
import { TERMINAL_EVENTS } from '../../contracts/events.js';
import { AppError } from '../errors.js';
import type { LiveRun } from '../runtime/live-run.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Watch } from '../store/changes.js';
import { ACTIVE_STATUSES } from '../store/runs.js';
import type { Store } from '../store/store.js';

export interface StreamedEvent {
  seq: number;
  event: RunEvent;
  json: string;
  /** Live only: a model call's first token (PublishedEvent.urgent). */
  urgent?: true;
}

/**
 * A run active in another instance is re-read when that instance's writes are announced
 * (LISTEN/NOTIFY on PostgreSQL, see Cluster); this is only the safety net for a lost notification.
 */
export const FOLLOW_FALLBACK_MS = 2000;

/**
 * Every event of a run with seq > `after`, exactly once and in order, until the terminal
 * event: from the live run's memory when it runs here (replay and live with no gap), else
 * from the event log. Ends once the run is stored, or early (AbortError) when `signal`
 * aborts; 404 for an unknown run.
 */
export async function* runEvents(runtime: Runtime, store: Store, runId: string, after: number, signal?: AbortSignal): AsyncGenerator<StreamedEvent> {
  let last = after;
  let watch: Watch | undefined;
  try {
    for (;;) {
      const live = runtime.get(runId);
      // A resumed run keeps only its current stretch in memory; earlier events come from the log.
      if (live && last >= live.base) return yield* fromLive(live, last, signal);
      // Watch before reading: a change committed after the reads below ends the wait at once.
      watch ??= store.changes.watch(`run:${runId}`);
      const seen = watch.version;
      const run = await store.runs.get(runId);
      if (!run) throw new AppError('not_found', `unknown run "${runId}"`);
      const stored = await store.eventLog.list(runId, last);
      for (const [i, e] of stored.entries()) {
        if (live && e.seq > live.base) break;
        yield { seq: e.seq, event: e.event, json: JSON.stringify(e.event) };
        last = e.seq;
        // A terminal event ends the stream unless the run went on after it (it was waiting, then resumed).
        if (TERMINAL_EVENTS.has(e.event.type) && i === stored.length - 1 && !live && !ACTIVE_STATUSES.includes(run.status)) return;
      }
      if (live) continue;
      // Finished runs end here. An active run missing from memory is just being registered,
      // or belongs to another instance sharing the database: follow its log.
      if (!ACTIVE_STATUSES.includes(run.status)) return;
      await watch.wait(seen, FOLLOW_FALLBACK_MS, signal);
    }
  } finally {
    watch?.close();
  }
}

async function* fromLive(live: LiveRun, after: number, signal?: AbortSignal): AsyncGenerator<StreamedEvent> {
  if (live.ended && after >= live.lastSeq) return await live.done;
  const emitter = new EventEmitter();
  // Listen before subscribing: subscribe() replays synchronously.
  const events = on(emitter, 'event', { signal });
  const unsubscribe = live.subscribe((e) => {
    if (e.seq > after) emitter.emit('event', e);
  }, after);
  try {
    for await (const [e] of events as AsyncIterable<[StreamedEvent]>) {
      yield e;
      // End once the run is stored, so a client that reads it next sees its final state.
      if (TERMINAL_EVENTS.has(e.event.type)) return await live.done;
    }
  } finally {
    unsubscribe();
  }
}
