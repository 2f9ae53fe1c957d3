// Cold start: from spawning the process to its first answer on /health, a fresh process (and database) each time.
import { stopChild, type Child } from './children.js';

export interface ColdStart {
  target: string;
  runs: number;
  minMs: number;
  medianMs: number;
  maxMs: number;
}

export async function coldStart(name: string, start: () => Promise<Child>, runs: number): Promise<ColdStart> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const child = await start();
    // The floor proxies /health to the fake (a 404): its first answer, whatever the status, is its start.
    const res = await fetch(`${child.url}/health`);
    await res.arrayBuffer();
    times.push(performance.now() - t0);
    if (!name.startsWith('floor') && res.status !== 200) throw new Error(`${name}: /health answered ${res.status}`);
    await stopChild(child);
  }
  times.sort((a, b) => a - b);
  return { target: name, runs, minMs: times[0], medianMs: times[Math.floor(runs / 2)], maxMs: times[runs - 1] };
}
