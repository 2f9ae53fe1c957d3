import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { pino, type Logger } from 'pino';
import { loadConfig } from '../../src/config.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { testDatabase, type Dialect } from './databases.js';

/** A fresh directory per test file, removed by `cleanup()`. */
export function tempDir(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'agent-server-test-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface TestServerOptions {
  /** ANTHROPIC_BASE_URL; omit with `noCredentials`. */
  modelUrl?: string;
  env?: Record<string, string>;
  /** Agents file contents (written to a temp file). */
  agents?: unknown;
  noCredentials?: boolean;
  dbUrl?: string;
  /** Default: silent (or TEST_LOG_LEVEL). */
  logger?: Logger;
}

function buildEnv(opts: TestServerOptions, dir: string): Record<string, string> {
  const env: Record<string, string> = {
    AGENTSDK_HTTP_ADDR: '127.0.0.1:0',
    DATABASE_URL: opts.dbUrl ?? `sqlite:${join(dir, 'db.sqlite')}`,
    ANTHROPIC_MAX_RETRIES: '0',
    LOG_LEVEL: 'info',
    ...(opts.noCredentials ? {} : { ANTHROPIC_API_KEY: 'sk-test-key', ANTHROPIC_BASE_URL: opts.modelUrl ?? 'http://127.0.0.1:9' }),
    ...opts.env,
  };
  if (opts.agents) {
    const file = join(dir, 'agents.json');
    writeFileSync(file, JSON.stringify(opts.agents));
    env.AGENTS_FILE = file;
  }
  return env;
}

/** A server started by `startTestServer()`. */
export type TestServer = RunningServer & { dir: string; stop(): Promise<void> };

/** The real server in this process, on an ephemeral port (see `useServer()` in ./setup.ts for the hooks around it). */
export async function startTestServer(opts: TestServerOptions & { dialect?: Dialect } = {}): Promise<TestServer> {
  const tmp = tempDir();
  const db = await testDatabase(opts.dialect ?? 'sqlite', tmp.dir);
  const config = loadConfig(buildEnv({ dbUrl: db.url, ...opts }, tmp.dir), []);
  const server = await startServer(config, { logger: opts.logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }) });
  return {
    ...server,
    dir: tmp.dir,
    stop: async () => {
      await server.close(0);
      await db.drop();
      tmp.cleanup();
    },
  };
}

export interface SpawnedServer {
  url: string;
  proc: ChildProcess;
  logs: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The compiled server (`npm test` builds it first), as `npm start` runs it. */
export const SERVER_ENTRY = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

/** The real server as its own process (`node dist/main.js`, what `npm start` runs), for signals, crashes and start-up. */
export async function spawnServer(opts: TestServerOptions & { dir: string }): Promise<SpawnedServer> {
  const proc = spawn(process.execPath, [SERVER_ENTRY], {
    env: { ...process.env, ...buildEnv(opts, opts.dir) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.on('exit', (code, signal) => r({ code, signal })));
  proc.stderr!.on('data', (d) => logs.push(String(d)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${logs.join('')}`)), 30_000);
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      logs.push(line);
      try {
        const rec = JSON.parse(line);
        if (rec.msg === 'listening') {
          clearTimeout(timer);
          resolve(rec.url);
        }
      } catch {
        /* not a log line */
      }
    });
    void exited.then(() => reject(new Error(`server exited before listening:\n${logs.join('\n')}`)));
  });
  return { url, proc, logs, exited };
}
