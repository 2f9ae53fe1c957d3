import { createExpressMiddleware } from '@trpc/server/adapters/express';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { AppError } from '../errors.js';
import { withPrincipal, type TrpcContext } from '../trpc/context.js';
import { appErrorFromTrpc } from '../trpc/errors.js';
import { appRouter } from '../trpc/router.js';
import { principalOf } from './auth.js';
import { sendGuardError } from './guards.js';
import { decodeJsonText, MAX_BODY_BYTES, parseJsonText, readRawBody } from './json-body.js';
import { coalesceWrites } from './sse.js';

/** tRPC over HTTP (queries, mutations, batching, SSE subscriptions); mount at /trpc. */
export function trpcRoutes(ctx: TrpcContext, logger: Logger): RequestHandler {
  const trpc = createExpressMiddleware({
    router: appRouter,
    createContext: ({ res }) => withPrincipal(ctx, principalOf(res)),
    maxBodySize: MAX_BODY_BYTES,
    // Headers an error carries (429: Retry-After, RateLimit-*).
    responseMeta: ({ errors }) => {
      const headers = Object.assign({}, ...errors.map((e) => appErrorFromTrpc(e).headers ?? {}));
      return Object.keys(headers).length ? { headers } : {};
    },
    onError: ({ error, path, type }) => {
      if (appErrorFromTrpc(error).code === 'internal') logger.error({ err: error.cause ?? error, path, type }, 'tRPC call failed');
    },
  });
  return async (req, res, next) => {
    // tRPC builds its early errors (415, bad path encoding…) as text/plain Responses; they are JSON.
    const setHeader = res.setHeader.bind(res);
    res.setHeader = (name, value) => setHeader(name, name.toLowerCase() === 'content-type' && /^text\/plain/i.test(String(value)) ? 'application/json' : value);
    try {
      // JSON gets the checks of every JSON body (UTF-8, depth, lone surrogates) before tRPC parses
      // and walks it; tRPC takes the text as it is from req.body. Other types are tRPC's to refuse.
      if (req.method === 'POST' && /^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
        req.body = decodeJsonText(await readRawBody(req, MAX_BODY_BYTES));
        if (req.body.trim() !== '') parseJsonText(req.body, 'request body');
      }
      const input = req.query.input;
      if (typeof input === 'string') parseJsonText(input, 'input');
    } catch (err) {
      if (err instanceof AppError) return sendGuardError(req, res, err, ctx.production);
      throw err;
    }
    coalesceWrites(res); // a subscription writes each event on its own
    return trpc(req, res, next);
  };
}
