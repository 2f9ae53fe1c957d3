import express, { type Express } from 'express';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Cluster } from './cluster/cluster.js';
import type { Config } from './config.js';
import { consoleRoutes } from './http/console-routes.js';
import { authMiddleware, authRoutes, isPublicRoute } from './http/auth.js';
import { corsMiddleware, crossOriginGuard } from './http/cors.js';
import { errorHandler, notFound } from './http/errors.js';
import { requestGuards } from './http/guards.js';
import { lazyRoutes } from './http/lazy.js';
import { leanRoutes } from './http/lean-routes.js';
import { metricsRoutes } from './http/metrics-routes.js';
import { observeHttp, type HttpObserver } from './observability/http-observer.js';
import type { Metrics } from './observability/metrics.js';
import { trustedHost } from './http/public-url.js';
import { runRoutes } from './http/run-routes.js';
import { trpcRoutes } from './http/trpc-routes.js';
import { Authenticator } from './auth/authenticator.js';
import { createServices } from './services/index.js';
import { createTrpcContext } from './trpc/context.js';
import type { Runtime } from './runtime/runtime.js';
import type { Store } from './store/store.js';
import type { WebhookService } from './services/webhooks.js';

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
  tracing?: { httpObserver: HttpObserver };
  /** Completion webhooks (checked at run starts, shown on runs). */
  webhooks?: WebhookService;
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
  const observed = observeHttp([ctx.tracing?.httpObserver, ctx.metrics?.httpObserver].filter((o): o is HttpObserver => o !== undefined));
  if (observed) app.use(observed);
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
  // A person who opens the server in a browser lands on the web console.
  app.get('/', (_req, res) => res.redirect(302, '/console/'));
  app.use(consoleRoutes());
  // The protocol routes load on first use: their SDKs would otherwise cost most of the start-up time.
  app.use(lazyRoutes(openApiDocs, ['/openapi.json', '/docs']));
  app.use('/trpc', trpcRoutes(trpcContext, ctx.logger));
  const sse = { ssePingMs: ctx.config.ssePingMs };
  app.use(lazyRoutes(async () => (await import('./http/ai-sdk-routes.js')).aiSdkRoutes(services, sse), ['/v1/ai-sdk/']));
  app.use(lazyRoutes(async () => (await import('./http/ag-ui-routes.js')).agUiRoutes(services, sse), ['/v1/ag-ui/']));
  const a2a = { services, publicUrl: ctx.config.publicUrl, allowedHosts: ctx.config.allowedHosts };
  app.use(lazyRoutes(async () => (await import('./http/a2a-routes.js')).a2aRoutes(a2a), ['/v1/a2a', '/.well-known/']));
  // REST from the procedures (trpc-to-openapi): after every hand-made route.
  app.use(lazyRoutes(async () => (await import('./http/rest-routes.js')).restRoutes(trpcContext)));
  app.use(notFound());
  app.use(errorHandler(ctx.logger, ctx.config.production));
  return app;
}

async function openApiDocs() {
  const [{ docsRoutes }, { buildOpenApiDocument }] = await Promise.all([import('./http/docs-routes.js'), import('./openapi/document.js')]);
  return docsRoutes(buildOpenApiDocument());
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
