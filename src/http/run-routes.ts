import { Router, type Response } from 'express';
import { TERMINAL_EVENTS } from '../../contracts/events.js';
import { RunEventsQuery, RunId, RunWaitQuery, StartRunRequest } from '../../contracts/runs.js';
import type { Services } from '../services/index.js';
import type { StreamedEvent } from '../services/run-events.js';
import { principalOf } from './auth.js';
import { readJsonObject } from './json-body.js';
import { SseStream } from './sse.js';
import { validate } from './validate.js';

const PING = ': ping\n\n';

/**
 * The canonical event streams: `POST /v1/runs` starts a run and streams it,
 * `GET /v1/runs/:id/events` replays from `Last-Event-ID` / `?after=` and follows the run
 * live. Frames are `id: <seq>` + `data: <RunEvent>`; the stream ends after the terminal event.
 */
export function runRoutes(services: Services, opts: { ssePingMs: number }): Router {
  const r = Router();

  r.post('/v1/runs', async (req, res) => {
    const body = validate(StartRunRequest, await readJsonObject(req));
    const principal = principalOf(req);
    const run = await services.runs.start(principal, body, 'rest');
    // Background: the run record at once; poll GET /v1/runs/:id, wait on /wait, follow /events.
    if (body.background) return void res.status(202).json(await services.runs.read(principal, run.runId));
    await stream(res, (signal) => services.runs.follow(run, 0, signal), opts.ssePingMs);
  });

  r.get('/v1/runs/:id/events', async (req, res) => {
    const { id } = validate(RunId, { id: req.params.id }, 'path');
    const query = validate(RunEventsQuery, req.query, 'query');
    const header = req.headers['last-event-id'];
    const after = header !== undefined ? validate(RunEventsQuery, { after: header }, 'Last-Event-ID header').after : query.after;
    const principal = principalOf(req);
    await services.runs.assertVisible(principal, id);
    await stream(res, (signal) => services.runs.events(principal, id, after ?? 0, signal), opts.ssePingMs);
  });

  // The final record (or the waiting one), or 408 with the record as it is when `timeout` passed first.
  r.get('/v1/runs/:id/wait', async (req, res) => {
    const { id } = validate(RunId, { id: req.params.id }, 'path');
    const query = validate(RunWaitQuery, { ...(req.query as Record<string, unknown>) }, 'query');
    const { timed_out, run } = await services.runs.wait(principalOf(req), id, (query.timeout ?? DEFAULT_WAIT_S) * 1000);
    res.status(timed_out ? 408 : 200).json(run);
  });

  return r;
}

/** Seconds `GET /v1/runs/:id/wait` waits without a `timeout`. */
export const DEFAULT_WAIT_S = 30;

/** The run goes on when the client leaves; only this stream stops. */
async function stream(res: Response, events: (signal: AbortSignal) => AsyncIterable<StreamedEvent>, pingMs: number): Promise<void> {
  const sse = new SseStream(res, { pingMs, ping: PING });
  const abort = new AbortController();
  sse.onClose(() => abort.abort());
  try {
    for await (const e of events(abort.signal)) {
      sse.send(e.json, e.seq);
      if (e.urgent) sse.flushNow();
      // (A waiting stretch's end may be followed by the resumed run, so pings go on after it.)
      if (TERMINAL_EVENTS.has(e.event.type) && !(e.event.type === 'run.finished' && e.event.status === 'waiting')) sse.lastFrameSent();
    }
  } catch (err) {
    if (!abort.signal.aborted) throw err;
  }
  sse.end();
}
