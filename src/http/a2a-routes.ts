import type { AgentCard } from '@a2a-js/sdk';
import { A2A_ERROR_CODE } from '@a2a-js/sdk/errors';
import { DefaultExecutionEventBusManager } from '@a2a-js/sdk/server';
import { agentCardHandler, jsonRpcHandler } from '@a2a-js/sdk/server/express';
import express, { Router, type ErrorRequestHandler, type Request, type RequestHandler } from 'express';
import { DEFAULT_AGENT_ID } from '../agents.js';
import { AppError } from '../errors.js';
import { agentCard, serverCard } from '../protocols/a2a/card.js';
import { invalidFileBytes } from '../protocols/a2a/input.js';
import { A2aExecutor, A2aRequestHandler, type A2aEndpoint } from './a2a/executor.js';
import { principalUser } from './a2a/principal-user.js';
import { publicBaseUrl } from './public-url.js';
import { coalesceWrites } from './sse.js';
import { A2aTasks, A2aTaskStore } from './a2a/tasks.js';
import type { Services } from '../services/index.js';

import { A2A_MAX_BODY_BYTES } from './limits.js';

export interface A2aRoutesOptions {
  services: Services;
  /** `AGENTSDK_PUBLIC_URL`: the base URL cards advertise; default: the request's Host when allowed, else the listen address. */
  publicUrl?: string;
  /** `AGENTSDK_ALLOWED_HOSTS`. */
  allowedHosts: string[];
}

/**
 * A2A with `@a2a-js/sdk`: protocol v1.0, and v0.3 for older clients
 * (chosen by the `A2A-Version` header; none means 0.3).
 *
 * - `GET /.well-known/agent-card.json` (also `/v1/a2a/.well-known/agent-card.json`):
 *   the server's card, skills = the configured agents, endpoint `POST /v1/a2a`.
 * - `GET /v1/a2a/agents/:agentId/.well-known/agent-card.json`: one agent's card,
 *   endpoint `POST /v1/a2a/agents/:agentId`.
 */
export function a2aRoutes(opts: A2aRoutesOptions): Router {
  const { services } = opts;
  const tasks = new A2aTasks(services);
  const busManager = new DefaultExecutionEventBusManager();
  const agents = services.conversations.agents;
  const defaultAgentId = agents.has(DEFAULT_AGENT_ID) ? DEFAULT_AGENT_ID : [...agents.keys()][0];
  // Never the Host a request claims unless it is an allowed host (see publicBaseUrl).
  const baseUrl = (req: Request) => publicBaseUrl(req, { publicUrl: opts.publicUrl, allowedHosts: opts.allowedHosts });
  const parseJson = express.json({ limit: A2A_MAX_BODY_BYTES });

  const endpoint = (agentId: string | null): RequestHandler => {
    const ep: A2aEndpoint = { services, tasks, agentId, defaultAgentId };
    // The card given to the SDK handler only drives version checks and capabilities; clients get `cardFor`.
    const card = agentId ? agentCard('http://localhost', agents.get(agentId)!) : serverCard('http://localhost', agents.values());
    const handler = new A2aRequestHandler(card, new A2aTaskStore(tasks, agentId), new A2aExecutor(ep), busManager, ep);
    const rpc = jsonRpcHandler({ requestHandler: handler, userBuilder: principalUser, legacyCompat: { enabled: true } });
    // Our parser first (bigger limit); the SDK's own parser then sees a parsed body and skips.
    return (req, res, next) => {
      if (req.method !== 'POST' || req.path !== '/') return next();
      parseJson(req, res, (err?: unknown) => {
        if (err) return next(err);
        const bad = invalidFileBytes(req.body);
        if (bad) return res.json({ jsonrpc: '2.0', id: (req.body as { id?: unknown }).id ?? null, error: { code: A2A_ERROR_CODE.INVALID_PARAMS, message: `${bad} is not valid base64` } });
        rpc(req, res, next);
      });
    };
  };
  const serverEndpoint = endpoint(null);
  const agentEndpoints = new Map([...agents.keys()].map((id) => [id, endpoint(id)]));

  /** The SDK's card handler (ETag, If-None-Match → 304, v0.3 card for v0.3 clients) over a card built for this request. */
  const cardRoute = (build: (req: Request) => AgentCard | undefined): RequestHandler => {
    return (req, res, next) => {
      const card = build(req);
      if (!card) return next(new AppError('not_found', `unknown agent "${req.params.agentId}"`));
      // An origin answers If-None-Match whatever the request's Cache-Control says (fetch() adds
      // `no-cache` to every conditional request), but Express's req.fresh would refuse the 304.
      if (req.headers['if-none-match']) {
        delete req.headers['cache-control'];
        delete req.headers.pragma;
      }
      agentCardHandler({ agentCardProvider: async () => card, legacyCompat: { enabled: true } })(req, res, next);
    };
  };
  const agentOf = (req: Request) => agents.get(String(req.params.agentId));

  const r = Router();
  r.use(['/.well-known/agent-card.json', '/v1/a2a/.well-known/agent-card.json'], cardRoute((req) => serverCard(baseUrl(req), agents.values())));
  r.use(
    '/v1/a2a/agents/:agentId/.well-known/agent-card.json',
    cardRoute((req) => {
      const agent = agentOf(req);
      return agent && agentCard(baseUrl(req), agent);
    }),
  );
  r.use('/v1/a2a/agents/:agentId', (req, res, next) => {
    const handle = agentEndpoints.get(String(req.params.agentId));
    if (handle) return handle(req, res, next);
    if (req.method === 'POST' && req.path === '/') return next(new AppError('not_found', `unknown agent "${req.params.agentId}"`));
    next();
  });
  r.use('/v1/a2a', (_req, res, next) => {
    coalesceWrites(res); // the SDK writes each SSE event on its own
    next();
  }, serverEndpoint);
  r.use(['/v1/a2a', '/.well-known'], jsonRpcErrors());
  return r;
}

/** Body errors on a JSON-RPC endpoint answer in JSON-RPC; everything else goes to the app's error handler. */
function jsonRpcErrors(): ErrorRequestHandler {
  return (err, req, res, next) => {
    const e = err as { type?: string; status?: number };
    if (res.headersSent || req.method !== 'POST' || err instanceof AppError) return next(err);
    const reply = (status: number, code: number, message: string) => res.status(status).json({ jsonrpc: '2.0', id: null, error: { code, message } });
    if (e?.type === 'entity.parse.failed') return reply(200, A2A_ERROR_CODE.PARSE_ERROR, 'Invalid JSON payload.');
    if (e?.type === 'entity.too.large') return reply(413, A2A_ERROR_CODE.INVALID_REQUEST, `request body is larger than ${A2A_MAX_BODY_BYTES} bytes`);
    if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) return reply(e.status, A2A_ERROR_CODE.INVALID_REQUEST, (err as Error).message ?? 'invalid request');
    next(err);
  };
}
