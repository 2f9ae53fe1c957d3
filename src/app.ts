import express, { type Express, type RequestHandler } from 'express';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Cluster } from './cluster/cluster.js';
import type { Config } from './config.js';
import { a2aRoutes } from './http/a2a-routes.js';
import { agUiRoutes } from './http/ag-ui-routes.js';
import { aiSdkRoutes } from './http/ai-sdk-routes.js';
import { docsRoutes } from './http/docs-routes.js';
import { authMiddleware, authRoutes, isPublicRoute } from './http/auth.js';
import { corsMiddleware, crossOriginGuard } from './http/cors.js';
import { errorHandler, notFound } from './http/errors.js';
import { requestGuards } from './http/guards.js';
import { leanRoutes } from './http/lean-routes.js';
import { metricsRoutes } from './http/metrics-routes.js';
import type { Metrics } from './observability/metrics.js';
import { trustedHost } from './http/public-url.js';
import { restRoutes } from './http/rest-routes.js';
import { runRoutes } from './http/run-routes.js';
import { trpcRoutes } from './http/trpc-routes.js';
import { buildOpenApiDocument } from './openapi/document.js';
import { Authenticator } from './auth/authenticator.js';
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
  /** True once a graceful shutdown began: /ready answers 503 so load balancers stop sending. */
  isDraining?: () => boolean;
  /** Built from `config.auth` when omitted (pass one to share its stream-token key). */
  authenticator?: Authenticator;
  /** Prometheus metrics: counted on every request; `GET /metrics` for admins unless `serveMetrics` is false. */
  metrics?: Metrics;
  /** False when `/metrics` has a listener of its own (`AGENTSDK_METRICS_ADDR`). */
  serveMetrics?: boolean;
  /** The HTTP server span of each request (tracing on). */
  tracing?: { http(): RequestHandler };
}

/** The HTTP surface: every route over the one runtime. */
export function createApp(ctx: AppContext): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const services = createServices(ctx);
  const trpcContext = createTrpcContext(services, { production: ctx.config.production });
  const auth = ctx.authenticator ?? new Authenticator(ctx.config.auth);
  // Who is calling, before anything else runs: CORS (preflights need no credential), the CSRF guard,
  // then the principal (res.locals.principal); URL-building routes then see only a trusted Host.
  // Observed first, so refused requests are counted and traced too.
  if (ctx.tracing) app.use(ctx.tracing.http());
  if (ctx.metrics) app.use(ctx.metrics.http());
  const cors = corsMiddleware(ctx.config);
  if (cors) app.use(cors);
  app.use(crossOriginGuard(ctx.config, isPublicRoute));
  app.use(authMiddleware({ authenticator: auth, config: ctx.config, logger: ctx.logger }));
  app.use(trustedHost(ctx.config));
  app.use(authRoutes(auth));
  if (ctx.metrics && ctx.serveMetrics !== false) app.use(metricsRoutes(ctx.metrics));
  // Body size and body timeout, the same on every route (and A2A's JSON read with the common checks).
  app.use(requestGuards({ production: ctx.config.production }));
  app.use(leanRoutes(services.runs, { ssePingMs: ctx.config.ssePingMs, ready: readiness(ctx) }));
  app.use(runRoutes(services, { ssePingMs: ctx.config.ssePingMs }));
  // A person who opens the server in a browser lands on the API docs.
  app.get('/', (_req, res) => res.redirect(302, '/docs'));
  app.use(docsRoutes(buildOpenApiDocument()));
  app.use('/trpc', trpcRoutes(trpcContext, ctx.logger));
  app.use(aiSdkRoutes(services, { ssePingMs: ctx.config.ssePingMs }));
  app.use(agUiRoutes(services, { ssePingMs: ctx.config.ssePingMs }));
  app.use(a2aRoutes({ services, publicUrl: ctx.config.publicUrl, allowedHosts: ctx.config.allowedHosts }));
  // REST from the procedures (trpc-to-openapi): after every hand-made route.
  app.use(restRoutes(trpcContext));
  app.use(notFound());
  app.use(errorHandler(ctx.logger, ctx.config.production));
  return app;
}

/** Ready = the database answers a trivial query (within 2 s) and no shutdown has begun. */
function readiness(ctx: AppContext): () => Promise<string | undefined> {
  return async () => {
    if (ctx.isDraining?.()) return 'the server is shutting down';
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        sql`select 1`.execute(ctx.store.db.kysely),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), 2_000))),
      ]);
      return undefined;
    } catch {
      return 'the database does not answer';
    } finally {
      clearTimeout(timer);
    }
  };
}
