import express, { type Express } from 'express';
import type { Logger } from 'pino';
import type { Cluster } from './cluster/cluster.js';
import type { Config } from './config.js';
import { a2aRoutes } from './http/a2a-routes.js';
import { agUiRoutes } from './http/ag-ui-routes.js';
import { aiSdkRoutes } from './http/ai-sdk-routes.js';
import { docsRoutes } from './http/docs-routes.js';
import { errorHandler, notFound } from './http/errors.js';
import { leanRoutes } from './http/lean-routes.js';
import { restRoutes } from './http/rest-routes.js';
import { runRoutes } from './http/run-routes.js';
import { trpcRoutes } from './http/trpc-routes.js';
import { buildOpenApiDocument } from './openapi/document.js';
import { createServices } from './services/index.js';
import { createTrpcContext } from './trpc/context.js';
import type { Runtime } from './runtime/runtime.js';
import type { Store } from './store/store.js';

export interface AppContext {
  config: Config;
  runtime: Runtime;
  store: Store;
  logger: Logger;
  /** This instance among others on the same database (cross-instance cancel). */
  cluster?: Cluster;
}

/** The HTTP surface: every route over the one runtime. */
export function createApp(ctx: AppContext): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const services = createServices(ctx);
  const trpcContext = createTrpcContext(services, { production: ctx.config.production });
  app.use(leanRoutes(services.runs, { ssePingMs: ctx.config.ssePingMs }));
  app.use(runRoutes(services, { ssePingMs: ctx.config.ssePingMs }));
  app.use(docsRoutes(buildOpenApiDocument()));
  app.use('/trpc', trpcRoutes(trpcContext, ctx.logger));
  app.use(aiSdkRoutes(ctx.runtime, ctx.store, { ssePingMs: ctx.config.ssePingMs }));
  app.use(agUiRoutes(ctx.runtime, ctx.store, { ssePingMs: ctx.config.ssePingMs }));
  app.use(a2aRoutes({ runtime: ctx.runtime, store: ctx.store, runs: services.runs, publicUrl: ctx.config.publicUrl }));
  // REST from the procedures (trpc-to-openapi): after every hand-made route.
  app.use(restRoutes(trpcContext));
  app.use(notFound());
  app.use(errorHandler(ctx.logger, ctx.config.production));
  return app;
}
