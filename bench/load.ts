// One measured cell: autocannon against one route of one target, plus the target's CPU and memory.
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import type { Child } from './children.js';
import { cpuMs, peakRssMb } from './proc-stats.js';

export const ROUTES = ['/v1/run', '/v1/run/stream'] as const;

/** No session_id: the server starts a new session per request, so runs never queue on one thread. */
const BODY = JSON.stringify({ prompt: 'hello' });
const HEADERS: Record<string, string> = { 'content-type': 'application/json' };

/** Every request of the bench carries this key (the bare proxy ignores it). */
export function useApiKey(key: string): void {
  HEADERS.authorization = `Bearer ${key}`;
}
/** The last word of the fake's reply (fake-server.ts): present only if the whole reply got through. */
const LAST_WORD = 'word50';

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
  peakRssMb: number;
}

function fire(opts: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(opts, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

/** One request per route, so a target that answers fast but wrong fails instead of being measured. */
export async function probe(target: Child): Promise<void> {
  for (const route of ROUTES) {
    const res = await fetch(target.url + route, { method: 'POST', headers: HEADERS, body: BODY });
    const text = await res.text();
    if (!res.ok || !text.includes(LAST_WORD)) {
      throw new Error(`${target.name} POST ${route} answered ${res.status}: ${text.slice(0, 500)}`);
    }
  }
}

/** Both routes, alternating per request, to warm JIT, pools and the database before measuring. */
export async function warmUp(target: Child, seconds = 2, connections = 10): Promise<void> {
  if (seconds <= 0) return;
  await fire({
    url: target.url,
    connections,
    duration: seconds,
    requests: ROUTES.map((path) => ({ method: 'POST', path, headers: HEADERS, body: BODY })),
  });
}

export async function measure(target: Child, route: string, connections: number, seconds: number): Promise<Cell> {
  const cpuBefore = cpuMs(target.pid);
  const r = await fire({ url: target.url + route, method: 'POST', headers: HEADERS, body: BODY, connections, duration: seconds });
  // Requests cut off at the end keep the target busy briefly; charge that work to this cell, not the next.
  await sleep(250);
  const cpu = cpuMs(target.pid) - cpuBefore;
  const completed = r['2xx'];
  return {
    target: target.name,
    route,
    connections,
    reqPerSec: r.requests.mean,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    completed,
    non2xx: r.non2xx,
    errors: r.errors, // includes timeouts
    cpuMsPerRun: completed ? cpu / completed : NaN,
    peakRssMb: peakRssMb(target.pid),
  };
}
