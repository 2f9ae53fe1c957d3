// The results as a fixed-width markdown table. Latencies are whole ms: autocannon's resolution.
import type { Cell } from './load.js';

const COLUMNS: Array<{ title: string; value: (c: Cell) => string; left?: boolean }> = [
  { title: 'target', value: (c) => c.target, left: true },
  { title: 'route', value: (c) => `POST ${c.route}`, left: true },
  { title: 'c', value: (c) => String(c.connections) },
  { title: 'req/s', value: (c) => c.reqPerSec.toFixed(0) },
  { title: 'p50 ms', value: (c) => c.p50Ms.toFixed(0) },
  { title: 'p99 ms', value: (c) => c.p99Ms.toFixed(0) },
  { title: 'runs', value: (c) => String(c.completed) },
  { title: 'non-2xx', value: (c) => String(c.non2xx) },
  { title: 'errors', value: (c) => String(c.errors) },
  { title: 'CPU ms/run', value: (c) => (Number.isFinite(c.cpuMsPerRun) ? c.cpuMsPerRun.toFixed(2) : '-') },
  { title: 'peak RSS MB', value: (c) => c.peakRssMb.toFixed(0) },
];

export function table(cells: Cell[]): string {
  const rows = cells.map((cell) => COLUMNS.map((col) => col.value(cell)));
  const widths = COLUMNS.map((col, i) => Math.max(col.title.length, ...rows.map((r) => r[i].length)));
  const line = (values: string[]) =>
    `| ${values.map((v, i) => (COLUMNS[i].left ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (COLUMNS[i].left ? ':' : '-') + '-'.repeat(w) + (COLUMNS[i].left ? '-' : ':')).join('|')}|`;
  return [line(COLUMNS.map((c) => c.title)), rule, ...rows.map(line)].join('\n');
}
