import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { defaultAgents, loadAgentsFile, type Agent } from './agents.js';
import { createApp } from './app.js';
import { redactUrl, type Config } from './config.js';
import { openDb } from './db/dialect.js';
import { createLogger } from './logger.js';
import { createModelClient } from './runtime/model.js';
import { Runtime } from './runtime/runtime.js';
import { ToolRegistry } from './runtime/tools/registry.js';
import { Store } from './store/store.js';

export interface RunningServer {
  url: string;
  runtime: Runtime;
  store: Store;
  logger: Logger;
  /** Graceful stop: no new requests, active runs get the grace period, then the database closes. */
  close(graceMs?: number): Promise<void>;
}

export async function startServer(config: Config, opts: { logger?: Logger; agents?: Map<string, Agent> } = {}): Promise<RunningServer> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const tools = new ToolRegistry();
  const agents = opts.agents ?? (config.agentsFile ? loadAgentsFile(config.agentsFile, config.model, tools.names()) : defaultAgents(config.model));
  const db = await openDb(config.databaseUrl);
  const store = await Store.open(db, (err) => logger.error({ err }, 'could not store run events'));
  const orphans = await store.runs.interruptOrphans();
  if (orphans) logger.warn({ runs: orphans }, 'marked runs left active by a previous process as interrupted');

  const client = createModelClient(config);
  if (!client) logger.warn('no model credentials: set ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN; runs will answer 503');
  const runtime = new Runtime({ store, agents, tools, client, logger, toolTimeoutMs: config.toolTimeoutMs, instanceId: randomUUID() });
  const app = createApp({ config, runtime, store, logger });

  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.port, config.host, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  server.keepAliveTimeout = 65_000;
  const { port } = server.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  logger.info({ url, database: redactUrl(config.databaseUrl), agents: [...agents.keys()], model: config.model }, 'listening');

  let closing: Promise<void> | undefined;
  const close = (graceMs = config.shutdownGraceMs) =>
    (closing ??= (async () => {
      const stopped = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      await runtime.shutdown(graceMs);
      // Streams ended with their runs; whatever is left open is idle or abandoned.
      server.closeAllConnections();
      await stopped;
      await store.close();
    })());
  return { url, runtime, store, logger, close };
}
