// Routes whose module (and the SDKs it imports) loads on the first request that needs it.
import type { RequestHandler } from 'express';

/**
 * Start-up time: the protocol SDKs (A2A, AG-UI, AI SDK, trpc-to-openapi) cost hundreds of ms to
 * load, yet most deployments use one or two of them. `prefixes` limits the load to requests that
 * can match; with none, the first request that reaches this point loads it.
 */
export function lazyRoutes(load: () => Promise<RequestHandler>, prefixes?: readonly string[]): RequestHandler {
  let handler: Promise<RequestHandler> | undefined;
  return (req, res, next) => {
    if (prefixes && !prefixes.some((p) => req.path.startsWith(p))) return next();
    handler ??= load().catch((err) => {
      handler = undefined; // a failed load is retried by the next request, not cached
      throw err;
    });
    // An async handler's rejection goes to the error handler too (Express only catches the outer promise).
    handler.then((h) => Promise.resolve(h(req, res, next)).catch(next), next);
  };
}
