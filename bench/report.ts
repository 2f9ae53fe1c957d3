// The results as fixed-width markdown tables, each row beside the floor measured in the same run.
import type { ColdStart } from './cold-start.js';
import type { Cell, FirstToken } from './load.js';

interface Column<T> {
  title: string;
  value: (row: T) => string;
  left?: boolean;
}

function render<T>(columns: Column<T>[], data: T[]): string {
  const rows = data.map((row) => columns.map((col) => col.value(row)));
  const widths = columns.map((col, i) => Math.max(col.title.length, ...rows.map((r) => r[i].length)));
  const line = (values: string[]) => `| ${values.map((v, i) => (columns[i].left ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (columns[i].left ? ':' : '-') + '-'.repeat(w) + (columns[i].left ? '-' : ':')).join('|')}|`;
  return [line(columns.map((c) => c.title)), rule, ...rows.map(line)].join('\n');
}

const fixed = (n: number | undefined, digits = 2) => (n !== undefined && Number.isFinite(n) ? n.toFixed(digits) : '-');

/** Throughput cells; "× floor" is CPU per run over the floor's at the same concurrency. */
export function table(cells: Cell[], floorName: string): string {
  const floorCpu = (c: Cell) => cells.find((f) => f.route === floorName && f.connections === c.connections)?.cpuMsPerRun;
  const withPg = cells.some((c) => c.pgCpuMsPerRun !== undefined);
  const columns: Column<Cell>[] = [
    { title: 'target', value: (c) => c.target, left: true },
    { title: 'route', value: (c) => c.route, left: true },
    { title: 'c', value: (c) => String(c.connections) },
    { title: 'req/s', value: (c) => c.reqPerSec.toFixed(0) },
    { title: 'p50 ms', value: (c) => c.p50Ms.toFixed(0) },
    { title: 'p99 ms', value: (c) => c.p99Ms.toFixed(0) },
    { title: 'runs', value: (c) => String(c.completed) },
    { title: 'non-2xx', value: (c) => String(c.non2xx) },
    { title: 'errors', value: (c) => String(c.errors) },
    { title: 'CPU ms/run', value: (c) => fixed(c.cpuMsPerRun) },
    { title: '× floor', value: (c) => fixed(c.cpuMsPerRun / (floorCpu(c) ?? NaN), 1) },
    ...(withPg ? [{ title: 'PostgreSQL CPU ms/run', value: (c: Cell) => fixed(c.pgCpuMsPerRun) }] : []),
    { title: 'peak RSS MB', value: (c) => c.peakRssMb.toFixed(0) },
  ];
  return render(columns, cells);
}

/** p50/p90 time to first token, and the p50 over the floor's. */
export function firstTokenTable(rows: FirstToken[], floorName: string): string {
  const floor = rows.find((r) => r.route === floorName)?.p50Ms ?? NaN;
  return render<FirstToken>(
    [
      { title: 'target', value: (r) => r.target, left: true },
      { title: 'route', value: (r) => r.route, left: true },
      { title: 'requests', value: (r) => String(r.samples) },
      { title: 'p50 ms', value: (r) => r.p50Ms.toFixed(2) },
      { title: 'p90 ms', value: (r) => r.p90Ms.toFixed(2) },
      { title: 'p50 over floor ms', value: (r) => (r.route === floorName ? '-' : `+${(r.p50Ms - floor).toFixed(2)}`) },
    ],
    rows,
  );
}

export function coldTable(rows: ColdStart[]): string {
  return render<ColdStart>(
    [
      { title: 'process', value: (r) => r.target, left: true },
      { title: 'starts', value: (r) => String(r.runs) },
      { title: 'min ms', value: (r) => r.minMs.toFixed(0) },
      { title: 'median ms', value: (r) => r.medianMs.toFixed(0) },
      { title: 'max ms', value: (r) => r.maxMs.toFixed(0) },
    ],
    rows,
  );
}

export function memoryTable(rows: Array<{ target: string; idleRssMb: number; peakRssMb?: number; note?: string }>): string {
  return render(
    [
      { title: 'process', value: (r) => r.target, left: true },
      { title: 'idle RSS MB', value: (r) => r.idleRssMb.toFixed(0) },
      { title: 'peak RSS MB', value: (r) => fixed(r.peakRssMb, 0) },
      { title: '', value: (r) => r.note ?? '', left: true },
    ],
    rows,
  );
}

/**
 * Mean CPU per run over the passes, by route and concurrency, each target beside the first one; for
 * cells measured at the same time (--observe), also the median of each one's ratio to the first target's.
 */
export function comparisonTable(cells: Cell[], targets: string[]): string {
  const keyOf = (c: Cell) => `${c.route}\u0000${c.connections}`;
  const keys = [...new Set(cells.filter((c) => targets.includes(c.target)).map(keyOf))];
  const of = (target: string, key: string) => cells.filter((c) => c.target === target && keyOf(c) === key);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
  /** Each cell's CPU over the first target's measured at the same time (cells of one group). */
  const paired = (target: string, key: string) =>
    of(target, key).flatMap((c) => {
      const base = of(targets[0], key).find((b) => c.group !== undefined && b.group === c.group);
      return base ? [c.cpuMsPerRun / base.cpuMsPerRun - 1] : [];
    });
  const rows = keys.flatMap((key) => targets.map((target) => ({ key, target, cpu: mean(of(target, key).map((c) => c.cpuMsPerRun)), base: mean(of(targets[0], key).map((c) => c.cpuMsPerRun)), cells: of(target, key).length, pairs: paired(target, key).sort((a, b) => a - b) })));
  const withPairs = rows.some((r) => r.pairs.length > 0);
  return render<(typeof rows)[number]>(
    [
      { title: 'route', value: (r) => r.key.split('\u0000')[0], left: true },
      { title: 'c', value: (r) => r.key.split('\u0000')[1] },
      { title: 'target', value: (r) => r.target, left: true },
      { title: 'cells', value: (r) => String(r.cells) },
      { title: 'mean CPU ms/run', value: (r) => r.cpu.toFixed(3) },
      { title: `vs ${targets[0]}`, value: (r) => (r.target === targets[0] ? '-' : pct(r.cpu / r.base - 1)) },
      // The robust figure: an outlier cell (a disturbed moment) moves a mean, not a median.
      ...(withPairs ? [{ title: 'paired: median (min to max)', value: (r: (typeof rows)[number]) => (r.target === targets[0] || !r.pairs.length ? '-' : `${pct(median(r.pairs))} (${pct(r.pairs[0])} to ${pct(r.pairs[r.pairs.length - 1])})`) }] : []),
    ],
    rows,
  );
}

function median(sorted: number[]): number {
  const m = sorted.length >> 1;
  return sorted.length % 2 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
}
