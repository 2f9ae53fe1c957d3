import { createExpressMiddleware } from '@trpc/server/adapters/express';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { TrpcContext } from '../trpc/context.js';
import { appErrorFromTrpc } from '../trpc/errors.js';
import { appRouter } from '../trpc/router.js';
import { MAX_BODY_BYTES } from './json-body.js';

/** tRPC over HTTP (queries, mutations, batching, SSE subscriptions); mount at /trpc. */
export function trpcRoutes(ctx: TrpcContext, logger: Logger): RequestHandler {
  return createExpressMiddleware({
    router: appRouter,
    createContext: () => ctx,
    maxBodySize: MAX_BODY_BYTES,
    onError: ({ error, path, type }) => {
      if (appErrorFromTrpc(error).code === 'internal') logger.error({ err: error.cause ?? error, path, type }, 'tRPC call failed');
    },
  });
}
