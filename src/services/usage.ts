import type { UsageDimension, UsageGroup, UsageQuery, UsageReport, UsageTotals } from '../../contracts/usage.js';
import type { ModelPrice } from '../config.js';
import type { Store } from '../store/store.js';
import type { UsageRow } from '../store/usage.js';
import { ownerFilter, type Principal } from './access.js';

const DEFAULT_DIMS: UsageDimension[] = ['day', 'agent', 'model'];

/** Token usage per model call, summed for the usage API and thread reads, with an estimated cost. */
export class UsageService {
  constructor(
    private readonly store: Store,
    private readonly prices: Readonly<Record<string, ModelPrice>> = {},
  ) {}

  /** Totals and groups; a non-admin sees only its own principal's usage. */
  async report(principal: Principal, q: UsageQuery): Promise<UsageReport> {
    const dims = q.group_by ? ([...new Set(q.group_by.split(','))] as UsageDimension[]) : DEFAULT_DIMS;
    // Always by model too: the price is per model; groups without it sum the per-model costs.
    const rows = await this.store.usage.totals({ dims: dims.includes('model') ? dims : [...dims, 'model'], principal: ownerFilter(principal, q.principal), from: q.from, to: q.to });
    const groups = new Map<string, UsageGroup>();
    const totals = emptyTotals();
    for (const r of rows) {
      const key = JSON.stringify(dims.map((d) => keyOf(r, d)));
      let g = groups.get(key);
      if (!g) {
        g = emptyTotals();
        if (dims.includes('day')) g.day = r.day;
        if (dims.includes('agent')) g.agent_id = r.agent_id;
        if (dims.includes('model')) g.model = r.model;
        if (dims.includes('principal')) g.principal = r.principal ?? null;
        groups.set(key, g);
      }
      this.add(g, r);
      this.add(totals, r);
    }
    return { from: q.from ?? null, to: q.to ?? null, group_by: dims, totals, groups: [...groups.values()] };
  }

  /** Everything the thread's runs spent. */
  async thread(threadId: string): Promise<UsageTotals> {
    const totals = emptyTotals();
    for (const r of await this.store.usage.totals({ dims: ['model'], threadId })) this.add(totals, r);
    return totals;
  }

  /** What one run's model calls spent (its thread narrows the scan to that thread's rows). */
  async run(threadId: string, runId: string): Promise<UsageTotals> {
    const totals = emptyTotals();
    for (const r of await this.store.usage.totals({ dims: ['model'], threadId, runId })) this.add(totals, r);
    return totals;
  }

  private add(into: UsageTotals, r: UsageRow): void {
    into.input_tokens += r.input_tokens;
    into.output_tokens += r.output_tokens;
    into.cache_read_input_tokens += r.cache_read_input_tokens;
    into.cache_creation_input_tokens += r.cache_creation_input_tokens;
    into.calls += r.calls;
    const p = r.model !== undefined ? this.prices[r.model] : undefined;
    // One unpriced model makes the sum unknown rather than silently low.
    if (!p) into.cost_usd = null;
    else if (into.cost_usd !== null) into.cost_usd = round(into.cost_usd + cost(r, p));
  }
}

const emptyTotals = (): UsageTotals => ({ input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0, calls: 0, cost_usd: 0 });

const keyOf = (r: UsageRow, d: UsageDimension) => (d === 'day' ? r.day : d === 'agent' ? r.agent_id : d === 'model' ? r.model : r.principal);

function cost(r: UsageRow, p: ModelPrice): number {
  return (r.input_tokens * p.input + r.output_tokens * p.output + r.cache_read_input_tokens * p.cache_read + r.cache_creation_input_tokens * p.cache_write) / 1_000_000;
}

/** Micro-dollar precision: sums of floats otherwise show 0.30000000000000004. */
const round = (usd: number) => Math.round(usd * 1e6) / 1e6;
