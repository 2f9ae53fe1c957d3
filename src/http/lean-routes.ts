import { Router } from 'express';
import { TERMINAL_EVENTS } from '../../contracts/events.js';
import { RunRequest } from '../../contracts/run.js';
import { LEAN_PING, leanFrame } from '../protocols/lean/mapper.js';
import type { RunService } from '../services/runs.js';
import { readJsonObject } from './json-body.js';
import { SseStream } from './sse.js';
import { validate } from './validate.js';

/** GET /health, POST /v1/run, POST /v1/run/stream (SPEC §3). */
export function leanRoutes(runs: RunService, opts: { ssePingMs: number }): Router {
  const r = Router();

  r.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  r.post('/v1/run', async (req, res) => {
    res.json(await runs.runToEnd(validate(RunRequest, await readJsonObject(req)), 'api'));
  });

  r.post('/v1/run/stream', async (req, res) => {
    const run = await runs.startSession(validate(RunRequest, await readJsonObject(req)), 'stream');
    const sse = new SseStream(res, { pingMs: opts.ssePingMs, ping: LEAN_PING });
    sse.write(LEAN_PING);
    // The run goes on when the client leaves; only the subscription ends.
    const unsubscribe = run.subscribe((e) => {
      sse.send(leanFrame(e, run.threadId, run.runId), e.seq);
      // End once the run is stored, so a client that reads it next sees its final state.
      if (TERMINAL_EVENTS.has(e.event.type)) {
        sse.lastFrameSent();
        void run.done.then(() => sse.end());
      }
    });
    sse.onClose(unsubscribe);
  });

  return r;
}
