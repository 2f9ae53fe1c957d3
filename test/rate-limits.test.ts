/**
 * Per-principal limits, counted in the database: run starts per minute (a burst gets exactly the
 * limit through, then 429 with Retry-After and RateLimit-* headers) on every starting surface,
 * concurrent runs, daily token budgets; and one limit across two instances on one PostgreSQL.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startFakeAnthropic, type FakeAnthropic } from './fixtures/fake-anthropic.js';
import { assertError, call } from './helpers/api.js';
import { dialects, testDatabase, type TestDatabase } from './helpers/databases.js';
import { sleep, waitFor } from './helpers/http.js';
import { startTestServer, tempDir, type TestServer } from './helpers/server.js';
import { useServer } from './helpers/setup.js';

const PER_MINUTE = 2;
const PRINCIPALS = ['lean', 'runs', 'trpc', 'agui', 'aisdk', 'a2a', 'solo', 'spender', 'saver', 'burst'] as const;
const keys = Object.fromEntries(PRINCIPALS.map((p) => [p, `${p}-${randomBytes(16).toString('hex')}`])) as Record<(typeof PRINCIPALS)[number], string>;
const hash = (k: string) => createHash('sha256').update(k).digest('hex');
const as = (p: (typeof PRINCIPALS)[number]) => ({ authorization: `Bearer ${keys[p]}` });

function keysFile(extra: Record<string, Record<string, number>>): string {
  const file = join(process.env.TMPDIR ?? '/tmp', `keys-${randomUUID()}.json`);
  writeFileSync(file, JSON.stringify(PRINCIPALS.map((p) => ({ name: p, sha256: hash(keys[p]), ...(extra[p] ?? {}) }))));
  return file;
}

/** Starts are counted in fixed one-minute windows: keep a burst inside one. */
async function freshWindow(): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 8_000) await sleep(left + 50);
}

function assertLimited(res: { status: number; body: any; headers: Headers }, code: 'rate_limited' | 'budget_exceeded', limit: number): void {
  assertError(res, 429, code);
  const retry = Number(res.headers.get('retry-after'));
  assert.ok(retry >= 1, `Retry-After ${res.headers.get('retry-after')}`);
  assert.equal(res.headers.get('ratelimit-limit'), String(limit));
  assert.equal(res.headers.get('ratelimit-remaining'), '0');
  assert.equal(res.headers.get('ratelimit-reset'), String(retry));
}

/** Each start of a burst, fired at once; returns the statuses and the refused responses. */
async function burst(n: number, start: (i: number) => Promise<{ status: number; body: any; headers: Headers }>) {
  const results = await Promise.all(Array.from({ length: n }, (_, i) => start(i)));
  return { ok: results.filter((r) => r.status === 200), refused: results.filter((r) => r.status === 429), results };
}

/** POST JSON; a response whose body is an event stream is read to its end (the run is finished then). */
const post = (url: string, body: unknown, headers: Record<string, string>) => call(url, 'POST', body, headers);

for (const dialect of dialects()) describe(`rate limits and budgets [${dialect}]`, () => {
  const app = useServer({
    dialect,
    prepare: () => ({
      env: {
        AGENTSDK_API_KEYS_FILE: keysFile({ solo: { concurrent_runs: 1 }, spender: { daily_token_budget: 50 } }),
        AGENTSDK_RATE_RUNS_PER_MINUTE: String(PER_MINUTE),
        AGENTSDK_DAILY_TOKEN_BUDGET: '1000000',
      },
    }),
  });

  it('lean API: a burst gets exactly the limit through, then 429 with the headers', async () => {
    await freshWindow();
    const { ok, refused } = await burst(5, () => call(`${app.url}/v1/run`, 'POST', { prompt: 'hi' }, as('lean')));
    assert.equal(ok.length, PER_MINUTE);
    assert.equal(refused.length, 5 - PER_MINUTE);
    for (const r of refused) assertLimited(r, 'rate_limited', PER_MINUTE);
    // The lean stream too: refused with JSON before any event.
    const stream = await post(`${app.url}/v1/run/stream`, { prompt: 'hi' }, as('lean'));
    assert.match(stream.headers.get('content-type')!, /application\/json/);
    assertLimited(stream, 'rate_limited', PER_MINUTE);
    const runs = await app.server.store.runs.page({ limit: 50, principal: 'lean' });
    assert.equal(runs.items.length, PER_MINUTE, 'refused starts store nothing');
  });

  it('POST /v1/runs (SSE): refused before the stream starts', async () => {
    await freshWindow();
    const { ok, refused } = await burst(4, () => post(`${app.url}/v1/runs`, { prompt: 'hi' }, as('runs')));
    assert.equal(ok.length, PER_MINUTE);
    for (const r of ok) assert.match(r.headers.get('content-type')!, /text\/event-stream/);
    assert.equal(refused.length, 4 - PER_MINUTE);
    for (const r of refused) {
      assert.match(r.headers.get('content-type')!, /application\/json/);
      assertLimited(r, 'rate_limited', PER_MINUTE);
    }
  });

  it('tRPC: the lean `run` mutation is TOO_MANY_REQUESTS with the headers', async () => {
    await freshWindow();
    const { results } = await burst(3, () => post(`${app.url}/trpc/run`, { prompt: 'hi' }, as('trpc')));
    const refused = results.filter((r) => r.status === 429);
    assert.equal(results.filter((r) => r.status === 200).length, PER_MINUTE);
    assert.equal(refused.length, 1);
    assert.equal(refused[0].body.error.data.code, 'rate_limited');
    assert.equal(refused[0].headers.get('ratelimit-limit'), String(PER_MINUTE));
    assert.ok(Number(refused[0].headers.get('retry-after')) >= 1);
  });

  it('AG-UI: refused before the stream starts', async () => {
    await freshWindow();
    const { ok, refused } = await burst(4, () =>
      post(`${app.url}/v1/ag-ui/agents/assistant/runs`, { threadId: randomUUID(), runId: randomUUID(), messages: [{ id: randomUUID(), role: 'user', content: 'hi' }] }, as('agui')),
    );
    assert.equal(ok.length, PER_MINUTE);
    for (const r of ok) assert.match(r.headers.get('content-type')!, /text\/event-stream/);
    assert.equal(refused.length, 4 - PER_MINUTE);
    for (const r of refused) assertLimited(r, 'rate_limited', PER_MINUTE);
  });

  it('AI SDK: refused before the stream starts', async () => {
    await freshWindow();
    const { ok, refused } = await burst(4, () => {
      const id = randomUUID();
      return post(`${app.url}/v1/ai-sdk/agents/assistant/runs`, { id, trigger: 'submit-message', messages: [{ id: `${id}-u`, role: 'user', parts: [{ type: 'text', text: 'hi' }] }] }, as('aisdk'));
    });
    assert.equal(ok.length, PER_MINUTE);
    for (const r of ok) assert.match(r.headers.get('content-type')!, /text\/event-stream/);
    assert.equal(refused.length, 4 - PER_MINUTE);
    for (const r of refused) assertLimited(r, 'rate_limited', PER_MINUTE);
  });

  it('A2A: a JSON-RPC error, and no task is created', async () => {
    await freshWindow();
    const rpc = (i: number) =>
      post(`${app.url}/v1/a2a`, { jsonrpc: '2.0', id: i, method: 'SendMessage', params: { message: { messageId: randomUUID(), role: 'ROLE_USER', parts: [{ text: 'hi' }] } } }, { ...as('a2a'), 'A2A-Version': '1.0' });
    for (let i = 0; i < PER_MINUTE; i++) {
      const r = await rpc(i);
      assert.equal(r.body.error, undefined, JSON.stringify(r.body));
      assert.ok(r.body.result, JSON.stringify(r.body));
    }
    const refused = await rpc(99);
    assert.equal(refused.body.id, 99);
    assert.equal(refused.body.error.code, -32029, JSON.stringify(refused.body));
    assert.match(refused.body.error.message, /rate_limited/);
    const runs = await app.server.store.runs.page({ limit: 50, principal: 'a2a' });
    assert.equal(runs.items.length, PER_MINUTE);
  });

  it('concurrent runs: a second active run is refused until the first ends', async () => {
    await freshWindow();
    app.fake.enqueue({ content: [{ type: 'text', text: 'slow' }], delayMs: 1500 });
    const first = fetch(`${app.url}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json', ...as('solo') }, body: JSON.stringify({ prompt: 'slow' }) }).then((r) => r.text());
    await waitFor(async () => (await app.server.store.rates.activeRuns('solo')) === 1);
    assertLimited(await call(`${app.url}/v1/run`, 'POST', { prompt: 'again' }, as('solo')), 'rate_limited', 1);
    await first;
    await waitFor(async () => (await app.server.store.rates.activeRuns('solo')) === 0);
    const after = await call(`${app.url}/v1/run`, 'POST', { prompt: 'now' }, as('solo'));
    assert.equal(after.status, 200, JSON.stringify(after.body));
  });

  it('a daily token budget stops one principal and not another', async () => {
    await freshWindow();
    app.fake.enqueue({ content: [{ type: 'text', text: 'pricey' }], usage: { input_tokens: 40, output_tokens: 20 } });
    assert.equal((await call(`${app.url}/v1/run`, 'POST', { prompt: 'spend' }, as('spender'))).status, 200);
    const refused = await call(`${app.url}/v1/run`, 'POST', { prompt: 'more' }, as('spender'));
    assertLimited(refused, 'budget_exceeded', 50);
    assert.ok(Number(refused.headers.get('retry-after')) <= 86_400);
    // Another principal (the global budget is far away) goes on.
    app.fake.enqueue({ content: [{ type: 'text', text: 'fine' }], usage: { input_tokens: 40, output_tokens: 20 } });
    assert.equal((await call(`${app.url}/v1/run`, 'POST', { prompt: 'spend' }, as('saver'))).status, 200);
    assert.equal((await call(`${app.url}/v1/run`, 'POST', { prompt: 'spend' }, as('saver'))).status, 200);
  });
});

const PG_URL = process.env.TEST_DATABASE_URL;
describe('one limit across two instances on one PostgreSQL', { skip: !PG_URL && 'TEST_DATABASE_URL is not set' }, () => {
  let fake: FakeAnthropic;
  let tmp: ReturnType<typeof tempDir>;
  let db: TestDatabase;
  let a: TestServer;
  let b: TestServer;
  const LIMIT = 3;

  before(async () => {
    fake = await startFakeAnthropic();
    tmp = tempDir();
    db = await testDatabase('postgres', tmp.dir);
    const env = { AGENTSDK_API_KEYS_FILE: keysFile({ burst: { runs_per_minute: LIMIT }, solo: { concurrent_runs: 1 } }), AGENTSDK_SHUTDOWN_GRACE_MS: '0' };
    // One after the other: the first one migrates the schema. Both on the one schema (dbUrl).
    a = await startTestServer({ modelUrl: fake.url, dbUrl: db.url, env });
    b = await startTestServer({ modelUrl: fake.url, dbUrl: db.url, env });
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await db?.drop();
    await fake?.close();
    tmp?.cleanup();
  });

  it('a burst spread over both instances gets exactly the limit through', async () => {
    await freshWindow();
    const { ok, refused } = await burst(8, (i) => call(`${(i % 2 ? a : b).url}/v1/run`, 'POST', { prompt: `p${i}` }, as('burst')));
    assert.equal(ok.length, LIMIT);
    assert.equal(refused.length, 8 - LIMIT);
    for (const r of refused) assertLimited(r, 'rate_limited', LIMIT);
    // Both instances answered some of each kind of the burst through one counter.
    const runs = await a.store.runs.page({ limit: 50, principal: 'burst' });
    assert.equal(runs.items.length, LIMIT);
  });

  it('concurrent starts on both instances: exactly the concurrency limit is stored, the rest 429', async () => {
    // Every accepted run is slow, so none ends while the burst arrives.
    fake.setHandler(() => ({ content: [{ type: 'text', text: 'slow' }], delayMs: 1500 }));
    try {
      const { ok, refused } = await burst(8, (i) => call(`${(i % 2 ? a : b).url}/v1/run`, 'POST', { prompt: `c${i}` }, as('solo')));
      assert.equal(ok.length, 1, JSON.stringify(refused.map((r) => r.body)));
      assert.equal(refused.length, 7);
      for (const r of refused) assertLimited(r, 'rate_limited', 1);
      const runs = await a.store.runs.page({ limit: 50, principal: 'solo' });
      assert.equal(runs.items.length, 1, 'a refused start stores nothing');
    } finally {
      fake.setHandler(null);
    }
  });
});

describe('limits and prices configuration', () => {
  const base = { ANTHROPIC_API_KEY: 'x', DATABASE_URL: ':memory:' };
  it('reads global limits, per-key limits and prices', async () => {
    const { loadConfig } = await import('../src/config.js');
    const file = keysFile({ lean: { runs_per_minute: 7, concurrent_runs: 2, daily_token_budget: 1000 } });
    const c = loadConfig({ ...base, AGENTSDK_API_KEYS_FILE: file, AGENTSDK_RATE_RUNS_PER_MINUTE: '5', AGENTSDK_MODEL_PRICES: JSON.stringify({ m: { input: 2, output: 10 } }) }, []);
    assert.deepEqual(c.limits, { runsPerMinute: 5, concurrentRuns: undefined, dailyTokenBudget: undefined });
    assert.deepEqual(c.auth.apiKeys.find((k) => k.name === 'lean')?.limits, { runsPerMinute: 7, concurrentRuns: 2, dailyTokenBudget: 1000 });
    assert.equal(c.auth.apiKeys.find((k) => k.name === 'runs')?.limits, undefined);
    assert.deepEqual(c.modelPrices, { m: { input: 2, output: 10, cache_read: 0.2, cache_write: 2.5 } });
  });
  it('refuses bad values and still refuses unknown key-file fields', async () => {
    const { loadConfig, ConfigError } = await import('../src/config.js');
    const bad = (env: Record<string, string>, wording: RegExp) =>
      assert.throws(() => loadConfig({ ...base, ...env }, []), (e: unknown) => e instanceof ConfigError && e.problems.some((p) => wording.test(p)));
    bad({ AGENTSDK_RATE_CONCURRENT_RUNS: '0' }, /AGENTSDK_RATE_CONCURRENT_RUNS/);
    bad({ AGENTSDK_DAILY_TOKEN_BUDGET: 'lots' }, /AGENTSDK_DAILY_TOKEN_BUDGET/);
    bad({ AGENTSDK_MODEL_PRICES: '{"m": {"input": -1, "output": 1}}' }, /input must be non-negative/);
    bad({ AGENTSDK_MODEL_PRICES: '{"m": {"input": 1, "output": 1, "per_call": 2}}' }, /unknown field\(s\) per_call/);
    bad({ AGENTSDK_MODEL_PRICES: 'nope' }, /not valid JSON/);
    bad({ AGENTSDK_API_KEYS_FILE: keysFile({ lean: { runs_per_minute: 1.5 } }) }, /runs_per_minute must be an integer/);
    bad({ AGENTSDK_API_KEYS_FILE: keysFile({ lean: { key: 1 } as never }) }, /unknown field\(s\) key/);
  });
});
