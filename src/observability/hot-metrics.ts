// Counters and histograms for the per-run hot path, rendered by a prom-client Registry.
import type { Registry } from 'prom-client';

/*
 * prom-client validates and hashes a label set on every observation, even through a `labels()`
 * child. These keep one child per label set (the sets here are bounded: no ids), found once by its
 * values; an observation is then a few additions. The registry renders them through `get()`, the
 * same interface prom-client's own metrics implement, so the exposition is prom-client's.
 */

type Labels = Record<string, string | number>;
interface Value {
  labels: Labels;
  value: number;
  metricName?: string;
}

/**
 * Values found by up to five strings, made on first use. A Map per string rather than one joined
 * key: the strings are short, mostly constants whose hashes V8 keeps, and nothing is built or
 * allocated for a lookup.
 */
export class Keyed<T> {
  private readonly root = new Map<string, unknown>();
  constructor(
    private readonly depth: number,
    private readonly make: (a: string, b: string, c: string, d: string, e: string) => T,
  ) {}

  of(a = '', b = '', c = '', d = '', e = ''): T {
    const n = this.depth;
    let level = this.root;
    if (n > 1) level = next(level, a);
    if (n > 2) level = next(level, b);
    if (n > 3) level = next(level, c);
    if (n > 4) level = next(level, d);
    const last = n <= 1 ? a : n === 2 ? b : n === 3 ? c : n === 4 ? d : e;
    let value = level.get(last) as T | undefined;
    if (value === undefined) level.set(last, (value = this.make(a, b, c, d, e)));
    return value;
  }
}

function next(level: Map<string, unknown>, value: string): Map<string, unknown> {
  let m = level.get(value) as Map<string, unknown> | undefined;
  if (m === undefined) level.set(value, (m = new Map()));
  return m;
}

abstract class HotMetric<C> {
  readonly aggregator = 'sum' as const;
  private readonly children: C[] = [];
  private readonly byValues: Keyed<C>;

  constructor(
    readonly name: string,
    readonly help: string,
    labelNames: readonly string[],
    registry: Registry,
  ) {
    if (labelNames.length > 5) throw new Error(`${name}: at most 5 labels`);
    this.byValues = new Keyed(labelNames.length, (...values) => {
      const labels: Labels = {};
      labelNames.forEach((name, i) => (labels[name] = values[i]));
      const child = this.create(labels);
      this.children.push(child);
      return child;
    });
    // The registry only needs name, help, type, get() and aggregator.
    registry.registerMetric(this as never);
  }

  abstract readonly type: 'counter' | 'histogram';
  protected abstract create(labels: Labels): C;
  protected abstract values(child: C): Value[];

  /** The child of these label values, in labelNames order. */
  of(a = '', b = '', c = '', d = '', e = ''): C {
    return this.byValues.of(a, b, c, d, e);
  }

  get(): { name: string; help: string; type: string; aggregator: 'sum'; values: Value[] } {
    const values: Value[] = [];
    for (const child of this.children) values.push(...this.values(child));
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

export interface CounterChild {
  inc(n?: number): void;
}

export class HotCounter extends HotMetric<CounterChild & { labels: Labels; value: number }> {
  readonly type = 'counter';

  protected create(labels: Labels) {
    return {
      labels,
      value: 0,
      inc(n = 1) {
        this.value += n;
      },
    };
  }

  protected values(c: { labels: Labels; value: number }): Value[] {
    return [{ labels: c.labels, value: c.value }];
  }
}

export interface HistogramChild {
  observe(v: number): void;
}

interface HistogramState extends HistogramChild {
  labels: Labels;
  counts: Float64Array;
  sum: number;
  count: number;
}

export class HotHistogram extends HotMetric<HistogramState> {
  readonly type = 'histogram';

  constructor(name: string, help: string, labelNames: readonly string[], private readonly buckets: readonly number[], registry: Registry) {
    super(name, help, labelNames, registry);
  }

  protected create(labels: Labels): HistogramState {
    const bounds = this.buckets;
    return {
      labels,
      counts: new Float64Array(bounds.length),
      sum: 0,
      count: 0,
      observe(v: number) {
        if (!Number.isFinite(v)) return;
        let i = 0;
        while (i < bounds.length && v > bounds[i]) i++;
        if (i < bounds.length) this.counts[i]++;
        this.sum += v;
        this.count++;
      },
    };
  }

  protected values(h: HistogramState): Value[] {
    const out: Value[] = [];
    const bucket = `${this.name}_bucket`;
    let cumulative = 0;
    this.buckets.forEach((le, i) => {
      cumulative += h.counts[i];
      out.push({ labels: { ...h.labels, le }, value: cumulative, metricName: bucket });
    });
    out.push({ labels: { ...h.labels, le: '+Inf' }, value: h.count, metricName: bucket });
    out.push({ labels: h.labels, value: h.sum, metricName: `${this.name}_sum` });
    out.push({ labels: h.labels, value: h.count, metricName: `${this.name}_count` });
    return out;
  }
}
