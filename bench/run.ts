// npm run bench [-- --duration 10 --warmup 10 --connections 1,50 --routes lean,ag-ui,… --db postgres://… --api-key KEY --observe --json]
// The compiled server (dist/, as `npm start` runs it) and the floor (a plain-node pipe), both in front of
// the same fake Anthropic API, each in its own process. Every row prints its ratio to the floor.
// --observe: the server in four settings (metrics and traces off, metrics only, both on exporting
// OTLP/HTTP to a receiver in this process, both on with one trace in ten sampled; /metrics scraped
// every --scrape-s seconds), each in --replicas processes (default 2), lean routes only; the four
// of a replica are loaded at the same time (with --alone: in turns), and each is compared with the
// one with both off.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { baseEnv, isAlive, pin, planPinning, spawnNode, stopAll, type Child } from './children.js';
import { coldStart } from './cold-start.js';
import { firstTokens, measure, measureTogether, openStreams, probe, useApiKey, warmUp, type Cell, type FirstToken } from './load.js';
import { rssMb } from './proc-stats.js';
import { FLOOR, ROUTES, type BenchRoute } from './protocols.js';
import { coldTable, comparisonTable, firstTokenTable, memoryTable, table } from './report.js';

const USAGE =
  'usage: npm run bench -- [--duration SECONDS] [--warmup SECONDS] [--connections 1,50] [--routes lean,lean-blocking,rest,ag-ui,ai-sdk,a2a,trpc] [--first-token N] [--streams N] [--passes N] [--replicas N] [--settle SECONDS] [--scrape-s 15] [--db postgres://…] [--api-key KEY (or BENCH_API_KEY)] [--observe [--alone]] [--pin auto|off] [--json]';

function parseFlags() {
  try {
    const { values } = parseArgs({
      options: {
        duration: { type: 'string', default: '10' },
        // Long enough for the JIT to settle: its compiler threads are busy for the first ~15 s of load.
        warmup: { type: 'string', default: '10' },
        connections: { type: 'string', default: '1,50' },
        routes: { type: 'string', default: Object.keys(ROUTES).join(',') },
        'first-token': { type: 'string', default: '100' },
        streams: { type: 'string', default: '1000' },
        passes: { type: 'string', default: '1' },
        // --observe: processes per setting.
        replicas: { type: 'string', default: '2' },
        // Unmeasured load before each cell, at its route and concurrency.
        settle: { type: 'string', default: '2' },
        // Prometheus' usual scrape interval.
        'scrape-s': { type: 'string', default: '15' },
        db: { type: 'string' },
        // The server is started with this one key and every request carries it (auth is on the measured path).
        'api-key': { type: 'string' },
        json: { type: 'boolean', default: false },
        observe: { type: 'boolean', default: false },
        // --observe: each setting's process loaded alone, in turns, instead of the four at once.
        alone: { type: 'boolean', default: false },
        // auto: with taskset and 2+ CPUs, measured processes get the last CPU, the driver and fake the others.
        pin: { type: 'string', default: 'auto' },
      },
      strict: true,
    });
    const duration = Number(values.duration);
    const warmup = Number(values.warmup);
    const connections = values.connections.split(',').map(Number);
    const routes = values.routes.split(',').map((r) => ROUTES[r]);
    const samples = Number(values['first-token']);
    const streams = Number(values.streams);
    const passes = Number(values.passes);
    const replicas = Number(values.replicas);
    const settle = Number(values.settle);
    const scrapeS = Number(values['scrape-s']);
    if (scrapeS > 0 && Number.isInteger(passes) && passes > 0 && Number.isInteger(replicas) && replicas > 0 && duration > 0 && warmup >= 0 && settle >= 0 && connections.every((c) => Number.isInteger(c) && c > 0) && routes.every(Boolean) && (values.pin === 'auto' || values.pin === 'off') && samples >= 0 && streams >= 0) {
      return { ...values, duration, warmup, settle, connections, routes, samples, streams, passes, replicas, scrapeS };
    }
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
const postgres = flags.db ?? process.env.BENCH_DATABASE_URL;
const pinning = flags.pin === 'auto' ? planPinning(cpus().length) : undefined;
/** Each server target gets a fresh SQLite file or PostgreSQL schema: a later target (or run) must not pay for an earlier one's rows. */
const schemas: string[] = [];
async function databaseOf(name: string): Promise<string> {
  // A random suffix: replicas share a name.
  if (!postgres) return `sqlite:${join(tmp, `${name.replace(/\W+/g, '-')}-${randomBytes(3).toString('hex')}.sqlite`)}`;
  const schema = `bench_${randomBytes(6).toString('hex')}`;
  await onPostgres(postgres, `create schema ${schema}`);
  schemas.push(schema);
  const url = new URL(postgres);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}
async function onPostgres(url: string, statement: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(statement);
  } finally {
    await c.end();
  }
}

let stopping = false;
async function shutdown(code: number): Promise<never> {
  stopping = true;
  await stopAll();
  for (const schema of schemas) await onPostgres(postgres!, `drop schema if exists ${schema} cascade`).catch(() => {});
  rmSync(tmp, { recursive: true, force: true });
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(130));
process.on('SIGTERM', () => void shutdown(143));

async function main(): Promise<void> {
  // What `npm start` runs: the compiled server, rebuilt if a source changed.
  execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), '--if-stale'], { stdio: 'inherit' });
  const fake = await spawnNode('fake-anthropic', 'bench/fake-server.ts', { cwd: root, env: baseEnv(), pickUrl: (r) => r.url });
  /** A measured process onto its own CPU (cold starts are not pinned: they are measured apart, on a quiet machine). */
  const measured = (child: Child): Child => {
    if (pinning) pin(child.pid, pinning.measured);
    return child;
  };
  const upstream = { ANTHROPIC_API_KEY: 'bench', ANTHROPIC_BASE_URL: fake.url };
  const serverEnv = async (name: string, extra: NodeJS.ProcessEnv = {}): Promise<NodeJS.ProcessEnv> => ({
    ...baseEnv(),
    ...upstream,
    AGENTSDK_HTTP_ADDR: '127.0.0.1:0',
    DATABASE_URL: await databaseOf(name),
    LOG_LEVEL: 'info', // the port is only announced in the "listening" log line
    AGENTSDK_SHUTDOWN_GRACE_MS: '1000',
    ...(apiKey ? { AGENTSDK_API_KEYS: apiKey } : {}),
    ...extra,
  });
  const launch = async (name: string, extra: NodeJS.ProcessEnv = {}) =>
    spawnNode(name, 'dist/main.js', { cwd: root, env: await serverEnv(name, extra), pickUrl: (r) => (r.msg === 'listening' ? r.url : undefined) });
  const server = async (name: string, extra: NodeJS.ProcessEnv = {}) => measured(await launch(name, extra));
  const launchFloor = () => spawnNode('floor', 'bench/floor.mjs', { cwd: root, env: { ...baseEnv(), ...upstream }, pickUrl: (r) => r.url });

  // Cold start first, while the machine is quiet.
  const cold = [
    await coldStart('server (node dist/main.js)', () => launch(`cold-${Math.random()}`), 5),
    await coldStart('floor', launchFloor, 5),
  ];
  // After the cold starts, which children would otherwise inherit the driver's CPUs.
  if (pinning) {
    pin(process.pid, pinning.driver);
    pin(fake.pid, pinning.driver);
  }

  const routes: BenchRoute[] = flags.observe ? [ROUTES.lean, ROUTES['lean-blocking']] : flags.routes;
  const targets: Child[] = [];
  /** --observe: each replica's four settings. */
  const groups: Child[][] = [];
  if (flags.observe) {
    const receiver = await startSpanReceiver();
    // Each setting in --replicas processes of the same name (the tables average them): two processes
    // with identical settings can differ by 10–20% for their whole life (JIT decisions, memory
    // layout), which would otherwise be read as the cost of a setting.
    for (let r = 0; r < flags.replicas; r++) {
      const off = await server('server, obs off', { AGENTSDK_METRICS: 'off' });
      const metricsOnly = await server('server, metrics');
      scrapeEvery(metricsOnly.url, flags.scrapeS);
      const on = await server('server, metrics+traces', { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
      scrapeEvery(on.url, flags.scrapeS);
      // What an operator can trade: every span recorded and encoded costs, one trace in ten costs a tenth.
      const sampled = await server('server, metrics+traces 10%', { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' });
      scrapeEvery(sampled.url, flags.scrapeS);
      groups.push([off, metricsOnly, on, sampled]);
      targets.push(off, metricsOnly, on, sampled);
    }
  } else {
    targets.push(await server('server'));
  }
  const floor = measured(await launchFloor());

  const cells: Cell[] = [];
  const memory: Array<{ target: string; idleRssMb: number; peakRssMb?: number; note?: string }> = [];
  const check = (...children: Child[]) => {
    for (const child of [fake, ...children]) if (!isAlive(child)) throw new Error(`${child.name} exited during the bench`);
  };
  await probe(floor, [FLOOR]);
  await warmUp(floor, [FLOOR], warmup);
  for (const c of flags.connections) cells.push(await measure(floor, FLOOR, c, duration, { settleS: flags.settle }));
  const idle = new Map<Child, number>();
  for (const target of targets) {
    await probe(target, routes);
    await new Promise((r) => setTimeout(r, 2000));
    idle.set(target, rssMb(target.pid));
    await warmUp(target, routes, warmup);
  }
  // --observe: the settings of one replica measured at the same time (or with --alone, one right
  // after the other), so that the machine's drift (on a shared host, ±10% within minutes) lands on
  // each alike. Otherwise targets take turns cell by cell (and pass by pass, in a rotated order), so
  // a busy moment does not land on one of them only.
  const together = flags.observe ? groups : targets.map((t) => [t]);
  for (let pass = 1; pass <= flags.passes; pass++) {
    for (const route of routes) {
      for (const c of flags.connections) {
        // Rotated each pass: no group is always the one measured right after the same other.
        for (let i = 0; i < together.length; i++) {
          const g = (i + pass - 1) % together.length;
          const group = together[g];
          check(...group);
          const opts = { postgres: Boolean(postgres), settleS: flags.settle, group: `${pass}/${g}` };
          // --alone: the group's processes one after the other (in an order rotated each pass), each
          // with the CPU to itself as a deployed server has; the round's cells pair as one group.
          let measured: Cell[] = [];
          if (!flags.alone) measured = await measureTogether(group, route, c, duration, opts);
          else for (let j = 0; j < group.length; j++) measured.push(await measure(group[(j + pass - 1) % group.length], route, c, duration, opts));
          for (const cell of measured) {
            console.error(`${cell.target} ${route.name} c=${c}: ${cell.reqPerSec.toFixed(0)} req/s, ${cell.cpuMsPerRun.toFixed(2)} ms CPU/run`);
            cells.push(cell);
          }
        }
      }
    }
  }
  for (const target of targets) {
    memory.push({ target: target.name, idleRssMb: idle.get(target)!, peakRssMb: Math.max(...cells.filter((c) => c.target === target.name).map((c) => c.peakRssMb)) });
  }

  const tokens: FirstToken[] = [];
  if (flags.samples) {
    tokens.push(...(await firstTokens([{ target: floor, route: FLOOR }, ...routes.filter((r) => r.streamed).map((route) => ({ target: targets[0], route }))], flags.samples)));
  }

  if (flags.streams && !flags.observe) {
    // A fresh server, so its peak is the streams' own.
    const streamer = await server('server, open streams');
    await probe(streamer, [ROUTES.lean]);
    const s = await openStreams(streamer, ROUTES.lean, flags.streams);
    memory.push({ target: `${streamer.name}: ${s.streams} lean streams`, idleRssMb: s.idleRssMb, peakRssMb: s.peakRssMb, note: `${s.kbPerStream.toFixed(0)} KB per stream` });
  }
  memory.push({ target: 'floor', idleRssMb: rssMb(floor.pid) });

  const meta = {
    node: process.version,
    cpu: `${cpus()[0]?.model ?? 'unknown'} (${cpus().length} CPUs)`,
    date: new Date().toISOString(),
    database: postgres ? postgres.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:***@') : 'sqlite (a temp file per target)',
    durationS: duration,
    warmupS: warmup,
    auth: apiKey ? 'one API key' : 'none (loopback)',
    pinning: pinning ? `measured processes on CPU ${pinning.measured}, driver and fake on ${pinning.driver}` : 'none',
  };
  console.log(`\nnode ${meta.node} | ${meta.cpu} | ${meta.date} | db ${meta.database} | auth ${meta.auth} | ${duration} s per cell after a ${warmup} s warm-up | pinning: ${meta.pinning}\n`);
  console.log(table(cells, FLOOR.name));
  if (targets.length > 1) console.log(`\nMean over passes\n\n${comparisonTable(cells, [...new Set(targets.map((t) => t.name))])}`);
  if (tokens.length) console.log(`\nTime to first token, c=1 (the fake waits 20 ms before answering)\n\n${firstTokenTable(tokens, FLOOR.name)}`);
  console.log(`\nCold start, spawn to the first 200 on /health (the floor: to its first answer)\n\n${coldTable(cold)}`);
  console.log(`\nMemory\n\n${memoryTable(memory)}`);
  if (flags.json) console.log(JSON.stringify({ meta, cells, tokens, cold, memory }));
}

/**
 * Takes OTLP/HTTP exports and drops them (the receiver's CPU is not the server's). It answers as a
 * collector does, in the request's encoding: an empty ExportTraceServiceResponse is no bytes in
 * protobuf and `{}` in JSON (a JSON body to a protobuf export would be a decoding error per batch).
 */
async function startSpanReceiver(): Promise<{ url: string }> {
  const s = createServer((req, res) => {
    req.resume();
    const protobuf = req.headers['content-type'] === 'application/x-protobuf';
    req.on('end', () => res.writeHead(200, { 'content-type': protobuf ? 'application/x-protobuf' : 'application/json' }).end(protobuf ? '' : '{}'));
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  s.unref();
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}` };
}

/** A Prometheus-like scraper, so the cost of rendering /metrics is in the measure too. */
function scrapeEvery(url: string, seconds: number): void {
  const headers: Record<string, string> = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
  setInterval(() => void fetch(`${url}/metrics`, { headers }).then((r) => r.text(), () => {}), seconds * 1000).unref();
}

main().then(
  () => shutdown(0),
  (err) => {
    if (stopping) return;
    console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
    return shutdown(1);
  },
);
