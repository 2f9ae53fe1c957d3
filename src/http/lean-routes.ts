import { Router } from 'express';
import { TERMINAL_EVENTS } from '../../contracts/events.js';
import { RunRequest } from '../../contracts/run.js';
import { LEAN_PING, leanFrame, leanOutcome } from '../protocols/lean/mapper.js';
import type { RunService } from '../services/runs.js';
import { AppError } from '../errors.js';
import { principalOf } from './auth.js';
import { readJsonObject } from './json-body.js';
import { SseStream } from './sse.js';
import { validate } from './validate.js';

/** GET /health, POST /v1/run, POST /v1/run/stream: the lean API (docs/architecture.md). */
export function leanRoutes(runs: RunService, opts: { ssePingMs: number; ready?: () => Promise<string | undefined> }): Router {
  const r = Router();

  // Readiness (not liveness): 503 while the database does not answer or the server drains.
  r.get('/ready', async (_req, res) => {
    const problem = opts.ready ? await opts.ready() : undefined;
    if (problem) throw new AppError('unavailable', `not ready: ${problem}`);
    res.json({ status: 'ready' });
  });

  r.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  r.post('/v1/run', async (req, res) => {
    const principal = principalOf(req);
    const body = validate(RunRequest, await readJsonObject(req));
    const run = await runs.startSession(principal, body, 'api');
    // Background: the run record at once; poll, wait on or follow it by its id.
    if (body.background) return void res.status(202).json(await runs.read(principal, run.runId));
    res.json(await leanOutcome(run));
  });

  r.post('/v1/run/stream', async (req, res) => {
    const principal = principalOf(req);
    const body = validate(RunRequest, await readJsonObject(req));
    const run = await runs.startSession(principal, body, 'stream');
    if (body.background) return void res.status(202).json(await runs.read(principal, run.runId));
    const sse = new SseStream(res, { pingMs: opts.ssePingMs, ping: LEAN_PING });
    sse.write(LEAN_PING);
    // The run goes on when the client leaves; only the subscription ends.
    const unsubscribe = run.subscribe((e) => {
      sse.send(leanFrame(e, run.threadId, run.runId), e.seq);
      if (e.urgent) sse.flushNow();
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
