import type { RateLimits } from '../config.js';
import { AppError } from '../errors.js';
import type { ActiveCap, Store } from '../store/store.js';
import type { Principal } from './access.js';

const WINDOW_MS = 60_000;

/**
 * Per-principal run limits, counted in the database so every instance enforces one limit:
 * starts per minute (fixed one-minute windows, `rate_windows`), concurrent queued/running runs
 * (the runs table) and tokens per UTC day (the usage rows). A key's own limits override the
 * global ones field by field. Refusals are 429 with `Retry-After` and `RateLimit-Limit`,
 * `RateLimit-Remaining`, `RateLimit-Reset` (seconds) headers.
 */
export class LimitService {
  constructor(
    private readonly store: Store,
    private readonly global: RateLimits = {},
    private readonly perPrincipal: ReadonlyMap<string, RateLimits> = new Map(),
  ) {}

  limitsOf(principal: Principal): RateLimits {
    return { ...this.global, ...this.perPrincipal.get(principal.id) };
  }

  /** Counts a run start against the principal's limits; 429 (nothing counted) when one is reached. */
  admit(principal: Principal): Promise<void> {
    return this.enforce(principal, this.limitsOf(principal), true);
  }

  /**
   * The concurrency limit as the store enforces it, in the transaction that stores the run: the
   * check in `admit` answers early, this one holds when instances start runs at the same moment.
   */
  activeCap(principal: Principal): ActiveCap | undefined {
    const limit = this.limitsOf(principal).concurrentRuns;
    return limit ? { principal: principal.id, limit, refuse: () => concurrencyRefusal(limit) } : undefined;
  }

  /** The same checks without counting (A2A refuses before it creates a task; the start counts). */
  check(principal: Principal): Promise<void> {
    return this.enforce(principal, this.limitsOf(principal), false);
  }

  /** A waiting run going on is no new start: only the budget and the concurrency limit apply. */
  checkResume(principal: Principal): Promise<void> {
    const { runsPerMinute: _, ...rest } = this.limitsOf(principal);
    return this.enforce(principal, rest, false);
  }

  private async enforce(principal: Principal, l: RateLimits, count: boolean): Promise<void> {
    if (!l.runsPerMinute && !l.concurrentRuns && !l.dailyTokenBudget) return;
    const now = Date.now();
    if (l.dailyTokenBudget) {
      const dayStart = new Date(now);
      dayStart.setUTCHours(0, 0, 0, 0);
      const spent = await this.store.usage.tokensSince(principal.id, dayStart.toISOString());
      if (spent >= l.dailyTokenBudget) {
        const reset = Math.ceil((dayStart.getTime() + 86_400_000 - now) / 1000);
        throw refusal('budget_exceeded', `daily token budget of ${l.dailyTokenBudget} tokens is spent (${spent} used today, UTC); it resets at midnight UTC`, l.dailyTokenBudget, reset);
      }
    }
    if (l.concurrentRuns) {
      const active = await this.store.rates.activeRuns(principal.id);
      if (active >= l.concurrentRuns) throw concurrencyRefusal(l.concurrentRuns);
    }
    if (l.runsPerMinute) {
      const windowStart = now - (now % WINDOW_MS);
      const reset = Math.max(1, Math.ceil((windowStart + WINDOW_MS - now) / 1000));
      const n = count ? await this.store.rates.take(principal.id, windowStart, l.runsPerMinute) : (await this.store.rates.count(principal.id, windowStart)) < l.runsPerMinute ? 0 : null;
      if (n === null) throw refusal('rate_limited', `at most ${l.runsPerMinute} run starts per minute per principal`, l.runsPerMinute, reset);
    }
  }
}

const concurrencyRefusal = (limit: number) => refusal('rate_limited', `at most ${limit} concurrent runs (queued or running) per principal; wait for one to end`, limit, 1);

function refusal(code: 'rate_limited' | 'budget_exceeded', message: string, limit: number, resetSeconds: number): AppError {
  const reset = String(resetSeconds);
  return new AppError(code, message, { headers: { 'Retry-After': reset, 'RateLimit-Limit': String(limit), 'RateLimit-Remaining': '0', 'RateLimit-Reset': reset } });
}
