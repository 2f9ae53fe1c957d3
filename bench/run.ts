// npm run bench [-- --duration 10 --warmup 10 --connections 1,50 --db postgres://… --api-key KEY --observe --json]
// --observe: the server three times: metrics and traces off, metrics only, both on (OTLP/HTTP to a receiver in this process, /metrics scraped every second).
// The agent server and a bare proxy (the floor), both in front of the same fake Anthropic API.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { baseEnv, isAlive, spawnNode, stopAll, type Child } from './children.js';
import { measure, probe, ROUTES, useApiKey, warmUp, type Cell } from './load.js';
import { table } from './report.js';

const USAGE = 'usage: npm run bench -- [--duration SECONDS] [--warmup SECONDS] [--connections 1,50] [--db postgres://…] [--api-key KEY (or BENCH_API_KEY)] [--observe] [--json]';

function parseFlags() {
  try {
    const { values } = parseArgs({
      options: {
        duration: { type: 'string', default: '10' },
        // Long enough for the JIT to settle: its compiler threads are busy for the first ~15 s of load.
        warmup: { type: 'string', default: '10' },
        connections: { type: 'string', default: '1,50' },
        db: { type: 'string' },
        // The server is started with this one key and every request carries it (auth is on the measured path).
        'api-key': { type: 'string' },
        json: { type: 'boolean', default: false },
        observe: { type: 'boolean', default: false },
      },
      strict: true,
    });
    const duration = Number(values.duration);
    const warmup = Number(values.warmup);
    const connections = values.connections.split(',').map(Number);
    if (duration > 0 && warmup >= 0 && connections.every((c) => Number.isInteger(c) && c > 0)) return { ...values, duration, warmup, connections };
  } catch (err) {
    console.error((err as Error).message);
  }
  console.error(USAGE);
  process.exit(2);
}
const flags = parseFlags();
const { duration, warmup } = flags;
const apiKey = flags['api-key'] ?? (process.env.BENCH_API_KEY || undefined);
if (apiKey) useApiKey(apiKey);

const root = fileURLToPath(new URL('..', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'agent-server-bench-'));
const databaseUrl = flags.db ?? process.env.BENCH_DATABASE_URL ?? `sqlite:${join(tmp, 'bench.sqlite')}`;
/** Each server target gets a fresh SQLite file: a later target must not pay for an earlier one's rows. */
const databaseOf = (name: string) => (databaseUrl.startsWith('sqlite:') && !flags.db && !process.env.BENCH_DATABASE_URL ? `sqlite:${join(tmp, `${name.replace(/\W+/g, '-')}.sqlite`)}` : databaseUrl);

let stopping = false;
async function shutdown(code: number): Promise<never> {
  stopping = true;
  await stopAll();
  rmSync(tmp, { recursive: true, force: true });
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(130));
process.on('SIGTERM', () => void shutdown(143));

async function main(): Promise<void> {
  const fake = await spawnNode('fake-anthropic', 'bench/fake-server.ts', { cwd: root, env: baseEnv(), pickUrl: (r) => r.url });
  const upstream = { ANTHROPIC_API_KEY: 'bench', ANTHROPIC_BASE_URL: fake.url };
  const server = (name: string, extra: NodeJS.ProcessEnv = {}) =>
    spawnNode(name, 'src/main.ts', {
      cwd: root,
      env: {
        ...baseEnv(),
        ...upstream,
        AGENTSDK_HTTP_ADDR: '127.0.0.1:0',
        DATABASE_URL: databaseOf(name),
        LOG_LEVEL: 'info', // the port is only announced in the "listening" log line
        AGENTSDK_SHUTDOWN_GRACE_MS: '1000',
        ...(apiKey ? { AGENTSDK_API_KEYS: apiKey } : {}),
        ...extra,
      },
      pickUrl: (r) => (r.msg === 'listening' ? r.url : undefined),
    });
  const targets: Child[] = [];
  if (flags.observe) {
    const receiver = await startSpanReceiver();
    targets.push(await server('server, obs off', { AGENTSDK_METRICS: 'off' }));
    const metricsOnly = await server('server, metrics');
    targets.push(metricsOnly);
    scrapeEverySecond(metricsOnly.url);
    const on = await server('server, metrics+traces', { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    targets.push(on);
    scrapeEverySecond(on.url);
  } else {
    targets.push(await server('server'));
  }
  targets.push(await spawnNode('bare proxy', 'bench/bare-proxy.ts', { cwd: root, env: { ...baseEnv(), ...upstream }, pickUrl: (r) => r.url }));

  const cells: Cell[] = [];
  for (const target of targets) {
    await probe(target);
    await warmUp(target, warmup);
    for (const route of ROUTES) {
      for (const c of flags.connections) {
        for (const child of [fake, target]) {
          if (!isAlive(child)) throw new Error(`${child.name} exited during the bench`);
        }
        const cell = await measure(target, route, c, duration);
        console.error(`${target.name} POST ${route} c=${c}: ${cell.reqPerSec.toFixed(0)} req/s`);
        cells.push(cell);
      }
    }
  }

  const meta = {
    node: process.version,
    cpu: `${cpus()[0]?.model ?? 'unknown'} (${cpus().length} CPUs)`,
    date: new Date().toISOString(),
    database: databaseUrl.startsWith('sqlite:') ? 'sqlite (a temp file per target)' : databaseUrl.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:***@'),
    durationS: duration,
    warmupS: warmup,
    auth: apiKey ? 'one API key' : 'none (loopback)',
  };
  console.log(`\nnode ${meta.node} | ${meta.cpu} | ${meta.date} | db ${meta.database} | auth ${meta.auth} | ${duration} s per cell after a ${warmup} s warm-up at c=10\n`);
  console.log(table(cells));
  if (flags.json) console.log(JSON.stringify({ meta, cells }));
}

/** Takes OTLP/HTTP exports and drops them (the receiver's CPU is not the server's). */
async function startSpanReceiver(): Promise<{ url: string }> {
  const s = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  s.unref();
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}` };
}

/** A Prometheus-like scraper, so the cost of rendering /metrics is in the measure too. */
function scrapeEverySecond(url: string): void {
  const headers: Record<string, string> = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
  setInterval(() => void fetch(`${url}/metrics`, { headers }).then((r) => r.text(), () => {}), 1000).unref();
}

main().then(
  () => shutdown(0),
  (err) => {
    if (stopping) return;
    console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
    return shutdown(1);
  },
);
