// Measures one target: autocannon cells (throughput, latency, CPU per run), time to first token,
// and many open slow streams. CPU is read from /proc, so the driver's own work is not counted.
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import type { Child } from './children.js';
import { cpuMs, peakRssMb, postgresCpu, postgresCpuSince, rssMb } from './proc-stats.js';
import type { BenchRoute } from './protocols.js';

const HEADERS: Record<string, string> = { 'content-type': 'application/json' };

/** Every request of the bench carries this key (the floor ignores it). */
export function useApiKey(key: string): void {
  HEADERS.authorization = `Bearer ${key}`;
}
/** The last word of the fake's reply (fake-server.ts): present only if the whole reply got through. */
const LAST_WORD = 'word50';
/** Its first word: the first token the client sees. */
const FIRST_WORD = 'word1';

export interface Cell {
  target: string;
  route: string;
  connections: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  completed: number;
  non2xx: number;
  errors: number;
  cpuMsPerRun: number;
  /** PostgreSQL's own CPU per run (`--db postgres://…`). */
  pgCpuMsPerRun?: number;
  peakRssMb: number;
  /** Cells measured at the same time share it (measureTogether): --observe pairs them by it. */
  group?: string;
}

function fire(opts: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(opts, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

/** One request at a time over a fresh connection; resolves with the whole body and when the first token arrived. */
export function once(target: Child, route: BenchRoute, prompt: string): Promise<{ status: number; body: string; firstTokenMs: number; totalMs: number }> {
  const { path, body } = route.request(prompt);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(target.url + path, { method: route.method, headers: body ? HEADERS : { ...HEADERS, 'content-type': '' }, agent: false }, (res) => {
      let text = '';
      let firstTokenMs = NaN;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        if (Number.isNaN(firstTokenMs) && text.includes(FIRST_WORD)) firstTokenMs = performance.now() - started;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, firstTokenMs, totalMs: performance.now() - started }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** One request per route, so a target that answers fast but wrong fails instead of being measured. */
export async function probe(target: Child, routes: BenchRoute[]): Promise<void> {
  for (const route of routes) {
    const r = await once(target, route, 'hello');
    if (r.status !== 200 || !r.body.includes(LAST_WORD)) throw new Error(`${target.name} ${route.name} answered ${r.status}: ${r.body.slice(0, 500)}`);
  }
}

function requests(route: BenchRoute, prompt = 'hello'): autocannon.Request[] {
  return [
    {
      method: route.method,
      headers: HEADERS,
      setupRequest: (req) => {
        const { path, body } = route.request(prompt);
        return { ...req, path, body };
      },
    },
  ];
}

/** Every route in turn, to warm JIT, pools and the database before measuring. */
export async function warmUp(target: Child, routes: BenchRoute[], seconds: number, connections = 10): Promise<void> {
  if (seconds <= 0) return;
  for (const route of routes) await fire({ url: target.url, connections, duration: Math.max(1, seconds / routes.length), requests: requests(route) });
}

/** `group`: cells measured side by side, which the comparison table pairs. */
export interface MeasureOptions {
  postgres?: boolean;
  settleS?: number;
  group?: string;
}

export async function measure(target: Child, route: BenchRoute, connections: number, seconds: number, opts: MeasureOptions = {}): Promise<Cell> {
  const [cell] = await measureTogether([target], route, connections, seconds, opts);
  return cell;
}

/**
 * Every target loaded at once, each by its own `connections`, over the same seconds (the same
 * route, each process's own CPU read from /proc). With the targets on one CPU, a slower or busier
 * moment of the machine lands on all of them alike: what --observe compares them by.
 */
export async function measureTogether(targets: Child[], route: BenchRoute, connections: number, seconds: number, opts: MeasureOptions = {}): Promise<Cell[]> {
  // Unmeasured load first: a process that sat idle while other targets were measured has had its
  // heap shrunk and cold code flushed, and pays for that in the first seconds of load.
  const settle = opts.settleS ?? 2;
  if (settle > 0) await Promise.all(targets.map((t) => fire({ url: t.url, connections, duration: settle, requests: requests(route) })));
  const cpuBefore = targets.map((t) => cpuMs(t.pid));
  const pgBefore = opts.postgres ? postgresCpu() : undefined;
  const results = await Promise.all(targets.map((t) => fire({ url: t.url, connections, duration: seconds, requests: requests(route) })));
  // Requests cut off at the end keep the target busy briefly; charge that work to this cell, not the next.
  await sleep(250);
  const pgMs = pgBefore ? postgresCpuSince(pgBefore) : undefined;
  const all = results.reduce((n, r) => n + r['2xx'], 0);
  return targets.map((target, i) => {
    const r = results[i];
    const completed = r['2xx'];
    const cpu = cpuMs(target.pid) - cpuBefore[i];
    return {
      target: target.name,
      route: route.name,
      connections,
      reqPerSec: r.requests.mean,
      p50Ms: r.latency.p50,
      p99Ms: r.latency.p99,
      completed,
      non2xx: r.non2xx,
      errors: r.errors, // includes timeouts
      cpuMsPerRun: completed ? cpu / completed : NaN,
      // PostgreSQL's processes serve every target: their CPU is shared out by runs.
      pgCpuMsPerRun: pgMs !== undefined && all ? pgMs / all : undefined,
      peakRssMb: peakRssMb(target.pid),
      group: opts.group,
    };
  });
}

export interface FirstToken {
  target: string;
  route: string;
  samples: number;
  p50Ms: number;
  p90Ms: number;
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

/**
 * Time to the first token at c=1 (the fake waits 20 ms before it answers), `n` requests to each
 * pair, taken in turns (one to each, then the next round): drift of a shared machine over the
 * minutes this takes then lands on every row alike, so each row's distance to the floor holds.
 */
export async function firstTokens(pairs: Array<{ target: Child; route: BenchRoute }>, n: number): Promise<FirstToken[]> {
  const times = pairs.map((): number[] => []);
  for (let i = 0; i < n; i++) {
    for (const [k, { target, route }] of pairs.entries()) {
      const r = await once(target, route, 'first-token');
      if (r.status !== 200 || Number.isNaN(r.firstTokenMs)) throw new Error(`${target.name} ${route.name}: no first token (${r.status}) ${r.body.slice(0, 300)}`);
      times[k].push(r.firstTokenMs);
    }
  }
  return pairs.map(({ target, route }, k) => {
    const sorted = times[k].sort((a, b) => a - b);
    return { target: target.name, route: route.name, samples: n, p50Ms: quantile(sorted, 0.5), p90Ms: quantile(sorted, 0.9) };
  });
}

export interface OpenStreams {
  streams: number;
  idleRssMb: number;
  peakRssMb: number;
  kbPerStream: number;
}

/** `count` slow streams open at once (the fake sends a word every 500 ms); memory once every one has its first token. */
export async function openStreams(target: Child, route: BenchRoute, count: number): Promise<OpenStreams> {
  const idle = rssMb(target.pid);
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const reqs: http.ClientRequest[] = [];
  let started = 0;
  const allStarted = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${started} of ${count} streams got a first token in 60 s`)), 60_000);
    for (let i = 0; i < count; i++) {
      const { path, body } = route.request('slow');
      const req = http.request(target.url + path, { method: route.method, headers: HEADERS, agent }, (res) => {
        let seen = false;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (seen) return;
          text += chunk;
          if (text.includes(FIRST_WORD)) {
            seen = true;
            text = '';
            if (++started === count) {
              clearTimeout(timer);
              resolve();
            }
          }
        });
        res.on('error', () => {});
      });
      req.on('error', () => {});
      req.end(body);
      reqs.push(req);
    }
  });
  try {
    await allStarted;
    await sleep(1000); // a couple of words more on every stream
    const now = rssMb(target.pid);
    return { streams: count, idleRssMb: idle, peakRssMb: Math.max(now, peakRssMb(target.pid)), kbPerStream: ((now - idle) * 1024) / count };
  } finally {
    for (const r of reqs) r.destroy();
    agent.destroy();
    await sleep(2000); // the server notices the clients left
  }
}
