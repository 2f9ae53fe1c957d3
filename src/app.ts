import express, { type Express } from 'express';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { errorHandler, notFound } from './http/errors.js';
import { leanRoutes } from './http/lean-routes.js';
import type { Runtime } from './runtime/runtime.js';
import type { Store } from './store/store.js';

export interface AppContext {
  config: Config;
  runtime: Runtime;
  store: Store;
  logger: Logger;
}

/** The HTTP surface: every route over the one runtime. */
export function createApp(ctx: AppContext): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(leanRoutes(ctx.runtime, { ssePingMs: ctx.config.ssePingMs }));
  app.use(notFound());
  app.use(errorHandler(ctx.logger, ctx.config.production));
  return app;
}
