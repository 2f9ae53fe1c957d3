import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import express from 'express';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { defaultAgents, loadAgentsFile, withMcpTools, type Agent } from './agents.js';
import { createApp } from './app.js';
import { Cluster, sharedTurns } from './cluster/cluster.js';
import { redactUrl, type Config } from './config.js';
import { openDb, sqlitePath } from './db/dialect.js';
import { handleClientError } from './http/guards.js';
import { httpLimits, httpLimitsFromEnv, setHttpLimits } from './http/limits.js';
import { createLogger, setLogContext } from './logger.js';
import { metricsHandler } from './http/metrics-routes.js';
import { openSseStreams } from './http/sse.js';
import { Metrics } from './observability/metrics.js';
import { combineObservers, type RunObserver } from './runtime/observer.js';
import { modelClientSource } from './runtime/model-source.js';
import { Runtime } from './runtime/runtime.js';
import { builtinTools } from './runtime/tools/builtin.js';
import { McpManager, mcpServersOf } from './runtime/tools/mcp.js';
import { ToolRegistry } from './runtime/tools/registry.js';
import { reapOrphanToolProcesses, toolProcessDir } from './runtime/tools/tool-processes.js';
import { createStateTools } from './runtime/tools/state.js';
import { Store } from './store/store.js';
import { WebhookService } from './services/webhooks.js';

export interface RunningServer {
  url: string;
  runtime: Runtime;
  store: Store;
  logger: Logger;
  /** Metrics on their own listener (`AGENTSDK_METRICS_ADDR`), e.g. `http://127.0.0.1:9464/metrics`. */
  metricsUrl?: string;
  /** Graceful stop: no new requests, active runs get the grace period, then the database closes. */
  close(graceMs?: number): Promise<void>;
}

export async function startServer(config: Config, opts: { logger?: Logger; agents?: Map<string, Agent> } = {}): Promise<RunningServer> {
  // Before anything is opened: a malformed limit is a start-up error with nothing to undo.
  setHttpLimits(httpLimitsFromEnv(process.env));
  const logger = opts.logger ?? createLogger(config.logLevel);
  // Tool processes left by a previous server process that was killed; records ours from now on.
  reapOrphanToolProcesses(toolProcessDir(config), logger);
  const db = await openDb(config.databaseUrl, { poolSize: config.databasePoolSize });
  const store = await Store.open(db, (err) => logger.error({ err }, 'could not store run events (or a usage row written with them)'));
  const metrics = config.metrics
    ? new Metrics({
        waitingRuns: async () => Number((await store.db.kysely.selectFrom('runs').select((eb) => eb.fn.countAll().as('n')).where('status', '=', 'waiting').executeTakeFirst())?.n ?? 0),
        sseStreams: openSseStreams,
        sqlitePath: db.kind === 'sqlite' && sqlitePath(config.databaseUrl) !== ':memory:' ? sqlitePath(config.databaseUrl) : undefined,
        pgPool: db.poolStats,
      })
    : undefined;
  if (metrics) store.events.onBatch = (rows) => metrics.eventBatchStored(rows);
  // OpenTelemetry is loaded only when traces are exported: start-up is unchanged otherwise.
  const tracing = config.tracesUrl ? (await import('./observability/tracing.js')).startTracing({ url: config.tracesUrl, content: config.traceContent, protocol: config.tracesProtocol, sampler: config.tracesSampler }) : undefined;
  if (tracing) setLogContext((fields) => tracing.logFields(fields));
  const observer = combineObservers([tracing?.observer, metrics?.observer].filter((o): o is RunObserver => o !== undefined));
  const builtin = builtinTools(config);
  const tools = new ToolRegistry([...builtin.tools, ...createStateTools(store.threads)]);
  const warn = (msg: string) => logger.warn(msg);
  let agents: Map<string, Agent>;
  try {
    agents =
      opts.agents ??
      (config.agentsFile
        ? loadAgentsFile(config.agentsFile, config.model, tools.names(), { workspace: config.workspace, disabled: builtin.disabled, warn })
        : defaultAgents(config.model));
  } catch (err) {
    await store.close();
    throw err;
  }
  const instanceId = randomUUID();

  // MCP servers are connected before serving, so their tools are there from the first run.
  const mcp = new McpManager(logger, config.mcpStartTimeoutMs);
  const started = await mcp.start(mcpServersOf(agents.values()));
  tools.add(started.tools);
  withMcpTools(agents, started.listed, warn);

  const client = modelClientSource(config, { onUpstream: metrics ? (status, retry) => metrics.upstream(status, retry) : undefined });
  if (!client) logger.warn('no model credentials: set ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN; runs will answer 503');
  const turns = sharedTurns(store, logger);
  // Completion webhooks share the http_fetch guard (and its allow list).
  const webhooks = new WebhookService({ store, config: config.webhooks, allow: config.fetchAllow, logger, instanceId });
  const runtime = new Runtime({ store, agents, tools, client, logger, toolTimeoutMs: config.toolTimeoutMs, instanceId, turns, observer, onEnded: (id, status) => webhooks.onEnded(id, status) });
  // Lease, recovery of runs whose instance is gone, LISTEN (PostgreSQL).
  const cluster = await Cluster.start({ store, logger, instanceId, leaseMs: config.leaseMs, runtime, turns });
  let draining = false;
  if (config.auth.disabled) {
    logger.warn('AGENTSDK_AUTH=none: AUTHENTICATION IS OFF. Every client that can reach this port is an administrator. Never do this on a shared network.');
  } else if (!config.auth.apiKeys.length && !config.auth.jwt) {
    logger.info('no API keys or JWT configured: only loopback clients are served (set AGENTSDK_API_KEYS to serve others)');
  }
  // Deliveries a previous process (or a dead instance) left are sent from here on.
  webhooks.start();
  const app = createApp({ config, runtime, store, logger, cluster, isDraining: () => draining, metrics, serveMetrics: !config.metricsAddr, tracing, webhooks });

  let server: Server;
  let metricsServer: Server | undefined;
  try {
    if (metrics && config.metricsAddr) metricsServer = await listenMetrics(metrics, config.metricsAddr);
    server = await new Promise((resolve, reject) => {
      const s = app.listen(config.port, config.host, (err?: Error) => (err ? reject(err) : resolve(s)));
    });
  } catch (err) {
    metricsServer?.close();
    await tracing?.shutdown();
    // Not serving (e.g. the port is taken): stop what was started, so no MCP process or lease outlives us.
    await webhooks.stop();
    await mcp.close();
    await cluster.stop();
    await store.close();
    throw err;
  }
  server.keepAliveTimeout = 65_000;
  // Node's own answers (malformed request, URL/headers over 16 KiB, timeouts) in the one error body.
  server.on('clientError', handleClientError);
  // Node's backstop for a request never completed (the body guard answers first, at the body timeout).
  server.requestTimeout = server.headersTimeout + httpLimits().bodyTimeoutMs;
  const { port } = server.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  const metricsUrl = metricsServer ? `${hostUrl(config.metricsAddr!.host, (metricsServer.address() as AddressInfo).port)}/metrics` : undefined;
  if (metricsUrl) logger.info({ url: metricsUrl }, 'metrics listening');
  logger.info({ url, database: redactUrl(config.databaseUrl), agents: [...agents.keys()], model: config.model }, 'listening');

  let closing: Promise<void> | undefined;
  const close = (graceMs = config.shutdownGraceMs) =>
    (closing ??= (async () => {
      draining = true;
      // Deliveries of runs ending from here on stay stored for the other instances or the next start.
      await webhooks.stop();
      const stopped = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      await runtime.shutdown(graceMs);
      // Streams ended with their runs; whatever is left open is idle or abandoned.
      server.closeAllConnections();
      await stopped;
      await mcp.close();
      await cluster.stop();
      await store.close();
      if (metricsServer) await new Promise<void>((r) => metricsServer.close(() => r()));
      // Spans of the last runs go out before the process ends.
      await tracing?.shutdown().catch(() => {});
    })());
  return { url, runtime, store, logger, metricsUrl, close };
}

function hostUrl(host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `http://${h}:${port}`;
}

/** `/metrics` alone on its own listener, without authentication (reach it only from the scraper's network). */
function listenMetrics(metrics: Metrics, addr: { host: string; port: number }): Promise<Server> {
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', metricsHandler(metrics));
  app.use((_req, res) => void res.status(404).end());
  const server = createServer(app);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(addr.port, addr.host, () => resolve(server));
  });
}
