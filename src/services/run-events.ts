import { EventEmitter, on } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunEvent } from '../../contracts/events.js';
import { TERMINAL_EVENTS } from '../../contracts/events.js';
import { AppError } from '../errors.js';
import type { LiveRun } from '../runtime/live-run.js';
import type { Runtime } from '../runtime/runtime.js';
import { ACTIVE_STATUSES } from '../store/runs.js';
import type { Store } from '../store/store.js';

export interface StreamedEvent {
  seq: number;
  event: RunEvent;
  json: string;
}

/** How often a run that is active but not in this process's memory is re-read from the log. */
const POLL_MS = 200;

/**
 * Every event of a run with seq > `after`, exactly once and in order, until the terminal
 * event: from the live run's memory when it runs here (replay and live with no gap), else
 * from the event log. Ends once the run is stored, or early (AbortError) when `signal`
 * aborts; 404 for an unknown run.
 */
export async function* runEvents(runtime: Runtime, store: Store, runId: string, after: number, signal?: AbortSignal): AsyncGenerator<StreamedEvent> {
  let last = after;
  for (;;) {
    const live = runtime.get(runId);
    if (live) return yield* fromLive(live, last, signal);
    const run = await store.runs.get(runId);
    if (!run) throw new AppError('not_found', `unknown run "${runId}"`);
    for (const e of await store.eventLog.list(runId, last)) {
      yield { seq: e.seq, event: e.event, json: JSON.stringify(e.event) };
      last = e.seq;
      if (TERMINAL_EVENTS.has(e.event.type)) return;
    }
    // Finished runs end here. An active run missing from memory is just being registered,
    // or belongs to another instance sharing the database: follow its log.
    if (!ACTIVE_STATUSES.includes(run.status)) return;
    await sleep(POLL_MS, undefined, { signal });
  }
}

async function* fromLive(live: LiveRun, after: number, signal?: AbortSignal): AsyncGenerator<StreamedEvent> {
  if (live.ended && after >= live.events.length) return await live.done;
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
