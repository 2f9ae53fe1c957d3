import { Router } from 'express';
import { RunRequest } from '../../contracts/run.js';
import { DEFAULT_AGENT_ID } from '../agents.js';
import { LEAN_PING, leanFrame, leanResult } from '../protocols/lean.js';
import type { Runtime } from '../runtime/runtime.js';
import { readJsonObject } from './json-body.js';
import { SseStream } from './sse.js';
import { validate } from './validate.js';

/** GET /health, POST /v1/run, POST /v1/run/stream (SPEC §3). */
export function leanRoutes(runtime: Runtime, opts: { ssePingMs: number }): Router {
  const r = Router();

  r.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  const startFrom = async (req: Parameters<typeof readJsonObject>[0], origin: string) => {
    const body = validate(RunRequest, await readJsonObject(req));
    return runtime.start({ agentId: body.agent_id ?? DEFAULT_AGENT_ID, threadId: body.session_id, prompt: body.prompt, timeoutMs: body.timeout_ms, origin });
  };

  r.post('/v1/run', async (req, res) => {
    const run = await startFrom(req, 'api');
    await run.done;
    const terminal = run.events[run.events.length - 1].event;
    res.json(leanResult(terminal, run.threadId, run.runId));
  });

  r.post('/v1/run/stream', async (req, res) => {
    const run = await startFrom(req, 'stream');
    const sse = new SseStream(res, { pingMs: opts.ssePingMs, ping: LEAN_PING });
    sse.write(LEAN_PING);
    // The run goes on when the client leaves; only the subscription ends.
    const unsubscribe = run.subscribe((e) => {
      sse.send(leanFrame(e, run.threadId, run.runId), e.seq);
      // End once the run is stored, so a client that reads it next sees its final state.
      if (e.event.type === 'run.finished' || e.event.type === 'run.error') {
        sse.lastFrameSent();
        void run.done.then(() => sse.end());
      }
    });
    sse.onClose(unsubscribe);
  });

  return r;
}
