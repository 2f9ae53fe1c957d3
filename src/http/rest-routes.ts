import type { Request, RequestHandler, Response } from 'express';
import { acceptsRequestBody, createOpenApiNodeHttpHandler, createProcedureCache, forEachOpenApiProcedure, normalizePath, type OpenApiMethod } from 'trpc-to-openapi';
import { withPrincipal, type TrpcContext } from '../trpc/context.js';
import { appErrorFromTrpc } from '../trpc/errors.js';
import type { ApiMeta } from '../trpc/init.js';
import { appRouter } from '../trpc/router.js';
import { principalOf } from './auth.js';
import { readJsonObject } from './json-body.js';

/**
 * The REST face of the procedures with `openapi` meta (trpc-to-openapi). Mount after
 * the hand-made routes: unmatched requests go on with next(). Errors are rethrown as
 * AppErrors so the app's error handler renders them like every other route's.
 */
export function restRoutes(ctx: TrpcContext): RequestHandler {
  const match = createProcedureCache(appRouter);
  const successStatus = new Map<string, number>();
  // Procedure → its OpenAPI path template (the route label of metrics and traces).
  const templates = new Map<string, string>();
  forEachOpenApiProcedure<ApiMeta>(appRouter._def.procedures, ({ path, meta }) => {
    if (meta.successStatus) successStatus.set(path, meta.successStatus);
    if (meta.openapi?.path) templates.set(path, meta.openapi.path);
  });
  const handler = createOpenApiNodeHttpHandler({
    router: appRouter,
    createContext: ({ res }) => withPrincipal(ctx, principalOf(res as Response)),
    responseMeta: ({ paths, errors }) => {
      const status = errors.length === 0 && paths?.length === 1 ? successStatus.get(paths[0]) : undefined;
      return status ? { status } : {};
    },
    onError: ({ error }) => {
      throw appErrorFromTrpc(error);
    },
  });

  return async (req, res, next) => {
    const method = req.method as OpenApiMethod;
    const matched = match(method, normalizePath(req.path));
    if (!matched) return next();
    const template = matched.procedure && templates.get(matched.procedure.path);
    if (template) res.locals.routeTemplate = template;
    if (acceptsRequestBody(method)) await readBody(req);
    await handler(req, res, next);
  };
}

/**
 * Reads the body with the same rules as every hand-made route (one JSON object, 1 MiB,
 * 400/413/415). A bodiless request (e.g. POST …/cancel) counts as `{}`. The adapter then
 * takes `req.body` as it is; the content type is normalised because it only accepts
 * exact `application/json`.
 */
async function readBody(req: Request): Promise<void> {
  const bodiless = !req.headers['transfer-encoding'] && (req.headers['content-length'] === undefined || req.headers['content-length'] === '0');
  req.body = bodiless ? {} : await readJsonObject(req);
  req.headers['content-type'] = 'application/json';
}
