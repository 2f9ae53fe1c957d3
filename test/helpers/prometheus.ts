/**
 * A strict reader of the Prometheus text format (0.0.4): every line is a comment (`# HELP`,
 * `# TYPE`) or a sample of a declared family; label values are unescaped; histograms must have
 * increasing cumulative buckets ending in `+Inf` equal to `_count`. Throws on anything else.
 */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
export interface Family {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( \d+)?$/;

export function parseMetrics(text: string): Map<string, Family> {
  // The independent parser must accept it too.
  parsePrometheusTextFormat(text);
  const families = new Map<string, Family>();
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (const [i, line] of lines.entries()) {
    const where = `line ${i + 1}: ${line}`;
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) throw new Error(`bad comment, ${where}`);
      const [, kind, name, rest] = m;
      if (!NAME.test(name)) throw new Error(`bad metric name, ${where}`);
      const f = families.get(name) ?? { name, type: 'untyped', help: '', samples: [] };
      if (kind === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) throw new Error(`bad type, ${where}`);
        f.type = rest;
      } else f.help = rest;
      families.set(name, f);
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`bad sample, ${where}`);
    const [, name, , body, raw] = m;
    // Prometheus parses values with Go's ParseFloat: NaN and Inf in any case.
    const lower = raw.toLowerCase();
    const value = lower === '+inf' || lower === 'inf' ? Infinity : lower === '-inf' ? -Infinity : lower === 'nan' ? NaN : Number(raw);
    if (Number.isNaN(value) && lower !== 'nan') throw new Error(`bad value, ${where}`);
    const labels = parseLabels(body ?? '', where);
    const family = familyOf(families, name);
    if (!family) throw new Error(`sample of an undeclared family, ${where}`);
    family.samples.push({ name, labels, value });
  }
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

function familyOf(families: Map<string, Family>, name: string): Family | undefined {
  const direct = families.get(name);
  if (direct) return direct;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suffix)) {
      const f = families.get(name.slice(0, -suffix.length));
      if (f && (f.type === 'histogram' || f.type === 'summary')) return f;
    }
  }
  return undefined;
}

function parseLabels(body: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = body;
  while (rest.length) {
    const m = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/.exec(rest);
    if (!m) throw new Error(`bad labels, ${where}`);
    if (m[1] in labels) throw new Error(`duplicate label ${m[1]}, ${where}`);
    labels[m[1]] = m[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    rest = rest.slice(m[0].length);
  }
  return labels;
}

function checkHistogram(f: Family): void {
  const series = new Map<string, { buckets: Array<[number, number]>; count?: number; sum?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const e = series.get(key) ?? { buckets: [] };
    if (s.name.endsWith('_bucket')) e.buckets.push([le === '+Inf' ? Infinity : Number(le), s.value]);
    else if (s.name.endsWith('_count')) e.count = s.value;
    else if (s.name.endsWith('_sum')) e.sum = s.value;
    series.set(key, e);
  }
  for (const [key, e] of series) {
    const last = e.buckets.at(-1);
    if (!last || last[0] !== Infinity) throw new Error(`${f.name}${key}: no +Inf bucket`);
    if (last[1] !== e.count) throw new Error(`${f.name}${key}: +Inf bucket ${last[1]} != count ${e.count}`);
    if (e.sum === undefined) throw new Error(`${f.name}${key}: no _sum`);
    for (let i = 1; i < e.buckets.length; i++) {
      if (e.buckets[i][0] <= e.buckets[i - 1][0] || e.buckets[i][1] < e.buckets[i - 1][1]) throw new Error(`${f.name}${key}: buckets not increasing`);
    }
  }
}

/** Sum of the samples named `sample` whose labels include `match`. */
export function total(families: Map<string, Family>, family: string, sample: string, match: Record<string, string> = {}): number {
  const f = families.get(family);
  if (!f) return 0;
  return f.samples.filter((s) => s.name === sample && Object.entries(match).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);
}

/** Every label set of a family's samples named `sample`. */
export function series(families: Map<string, Family>, family: string, sample = family): Sample[] {
  return families.get(family)?.samples.filter((s) => s.name === sample) ?? [];
}
