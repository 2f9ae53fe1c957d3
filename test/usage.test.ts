/** Usage accounting: one row per model call (failed ones too), GET /v1/usage sums, visibility, prices, thread totals. */
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { createTRPCClient, httpLink } from '@trpc/client';
import type { AppRouter } from '../src/trpc/router.js';
import { call } from './helpers/api.js';
import { dialects } from './helpers/databases.js';
import { useServer } from './helpers/setup.js';

const ADMIN_KEY = `admin-${randomBytes(16).toString('hex')}`;
const ALICE_KEY = `alice-${randomBytes(16).toString('hex')}`;
const BOB_KEY = `bob-${randomBytes(16).toString('hex')}`;
const hash = (k: string) => createHash('sha256').update(k).digest('hex');
const as = (key: string) => ({ authorization: `Bearer ${key}` });
const MODEL = 'usage-test-model';
const PRICES = { [MODEL]: { input: 3, output: 15, cache_read: 0.3, cache_write: 3.75 } };

const sum = (runs: any[]) =>
  runs.reduce(
    (t, r) => ({
      input_tokens: t.input_tokens + r.usage.input_tokens,
      output_tokens: t.output_tokens + r.usage.output_tokens,
      cache_read_input_tokens: t.cache_read_input_tokens + r.usage.cache_read_input_tokens,
      cache_creation_input_tokens: t.cache_creation_input_tokens + r.usage.cache_creation_input_tokens,
    }),
    { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
  );
const tokensOf = (u: any) => ({ input_tokens: u.input_tokens, output_tokens: u.output_tokens, cache_read_input_tokens: u.cache_read_input_tokens, cache_creation_input_tokens: u.cache_creation_input_tokens });
const costOf = (u: any) => (u.input_tokens * 3 + u.output_tokens * 15 + u.cache_read_input_tokens * 0.3 + u.cache_creation_input_tokens * 3.75) / 1e6;

for (const dialect of dialects()) describe(`usage accounting [${dialect}]`, () => {
  const app = useServer({
    dialect,
    prepare: () => {
      const file = join(process.env.TMPDIR ?? '/tmp', `keys-${randomUUID()}.json`);
      writeFileSync(file, JSON.stringify([{ name: 'alice', sha256: hash(ALICE_KEY) }, { name: 'bob', sha256: hash(BOB_KEY) }]));
      return { env: { AGENTSDK_API_KEYS: ADMIN_KEY, AGENTSDK_API_KEYS_FILE: file, AGENTSDK_MODEL: MODEL, AGENTSDK_MODEL_PRICES: JSON.stringify(PRICES) } };
    },
  });
  const aliceRuns: any[] = [];
  const bobRuns: any[] = [];
  let aliceThread = '';

  const run = async (key: string, body: Record<string, unknown>) => {
    const res = await call(`${app.url}/v1/run`, 'POST', body, as(key));
    const r = await call(`${app.url}/v1/runs/${res.body.run_id}`, 'GET', undefined, as(key));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  };

  before(async () => {
    app.fake.enqueue({ content: [{ type: 'text', text: 'one' }], usage: { input_tokens: 100, output_tokens: 7, cache_read_input_tokens: 50, cache_creation_input_tokens: 20 } });
    const first = await run(ALICE_KEY, { prompt: 'a1' });
    aliceThread = first.thread_id;
    aliceRuns.push(first);
    app.fake.enqueue({ content: [{ type: 'text', text: 'two' }], usage: { input_tokens: 200, output_tokens: 9 } });
    aliceRuns.push(await run(ALICE_KEY, { prompt: 'a2', session_id: aliceThread }));
    // A call that breaks mid-stream: the run fails, its tokens still count.
    app.fake.enqueue({ content: [{ type: 'text', text: 'partial' }], usage: { input_tokens: 40, output_tokens: 3 }, streamError: { type: 'overloaded_error', message: 'overloaded' } });
    const failed = await run(ALICE_KEY, { prompt: 'a3' });
    assert.equal(failed.status, 'failed');
    aliceRuns.push(failed);
    app.fake.enqueue({ content: [{ type: 'text', text: 'bob' }], usage: { input_tokens: 1000, output_tokens: 11 } });
    bobRuns.push(await run(BOB_KEY, { prompt: 'b1' }));
  });

  it('totals equal the sum of the runs’ usage, failed runs included, with cache reads and writes', async () => {
    assert.equal(aliceRuns[2].usage.input_tokens, 40, 'the failed call counted on its run');
    assert.equal(aliceRuns[0].usage.cache_read_input_tokens, 50);
    assert.equal(aliceRuns[0].usage.cache_creation_input_tokens, 20);
    const res = await call(`${app.url}/v1/usage`, 'GET', undefined, as(ALICE_KEY));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(tokensOf(res.body.totals), sum(aliceRuns));
    assert.equal(res.body.totals.calls, 3);
    assert.deepEqual(res.body.group_by, ['day', 'agent', 'model']);
    assert.equal(res.body.groups.length, 1);
    const g = res.body.groups[0];
    assert.equal(g.day, new Date().toISOString().slice(0, 10));
    assert.equal(g.agent_id, 'assistant');
    assert.equal(g.model, MODEL);
    assert.deepEqual(tokensOf(g), sum(aliceRuns));
  });

  it('prices turn tokens into an estimated cost', async () => {
    const res = await call(`${app.url}/v1/usage`, 'GET', undefined, as(ALICE_KEY));
    assert.ok(Math.abs(res.body.totals.cost_usd - costOf(sum(aliceRuns))) < 1e-6, `${res.body.totals.cost_usd} vs ${costOf(sum(aliceRuns))}`);
    assert.ok(Math.abs(res.body.groups[0].cost_usd - costOf(sum(aliceRuns))) < 1e-6);
    // Each run's own cost on its record (the second run shares the thread with the first).
    for (const r of aliceRuns) assert.ok(Math.abs(r.cost_usd - costOf(r.usage)) < 1e-6, `${r.id}: ${r.cost_usd} vs ${costOf(r.usage)}`);
  });

  it('a caller sees only its own usage; admins see all, filter and group by principal', async () => {
    const bob = await call(`${app.url}/v1/usage`, 'GET', undefined, as(BOB_KEY));
    assert.deepEqual(tokensOf(bob.body.totals), sum(bobRuns));
    // A non-admin cannot ask for someone else's.
    const sneaky = await call(`${app.url}/v1/usage?principal=alice`, 'GET', undefined, as(BOB_KEY));
    assert.deepEqual(tokensOf(sneaky.body.totals), sum(bobRuns));

    const all = await call(`${app.url}/v1/usage?group_by=principal`, 'GET', undefined, as(ADMIN_KEY));
    assert.equal(all.status, 200, JSON.stringify(all.body));
    assert.deepEqual(tokensOf(all.body.totals), sum([...aliceRuns, ...bobRuns]));
    const byPrincipal = Object.fromEntries(all.body.groups.map((g: any) => [g.principal, tokensOf(g)]));
    assert.deepEqual(byPrincipal, { alice: sum(aliceRuns), bob: sum(bobRuns) });
    const onlyBob = await call(`${app.url}/v1/usage?principal=bob&group_by=model`, 'GET', undefined, as(ADMIN_KEY));
    assert.deepEqual(tokensOf(onlyBob.body.totals), sum(bobRuns));
  });

  it('from/to filter by time, and bad input is 400', async () => {
    const future = new Date(Date.now() + 3600_000).toISOString();
    const none = await call(`${app.url}/v1/usage?from=${encodeURIComponent(future)}`, 'GET', undefined, as(ALICE_KEY));
    assert.equal(none.body.totals.calls, 0);
    assert.deepEqual(none.body.groups, []);
    const upTo = await call(`${app.url}/v1/usage?to=${encodeURIComponent(future)}&from=2000-01-01T00:00:00Z`, 'GET', undefined, as(ALICE_KEY));
    assert.deepEqual(tokensOf(upTo.body.totals), sum(aliceRuns));
    const bad = await call(`${app.url}/v1/usage?group_by=colour`, 'GET', undefined, as(ALICE_KEY));
    assert.equal(bad.status, 400);
    const badTime = await call(`${app.url}/v1/usage?from=yesterday`, 'GET', undefined, as(ALICE_KEY));
    assert.equal(badTime.status, 400);
  });

  it('GET /v1/threads/{id} carries the usage of its runs', async () => {
    const res = await call(`${app.url}/v1/threads/${aliceThread}`, 'GET', undefined, as(ALICE_KEY));
    assert.equal(res.status, 200);
    assert.deepEqual(tokensOf(res.body.usage), sum(aliceRuns.slice(0, 2)));
    assert.equal(res.body.usage.calls, 2);
    assert.ok(res.body.usage.cost_usd > 0);
  });

  it('tRPC usage.get answers the same', async () => {
    const client = createTRPCClient<AppRouter>({ links: [httpLink({ url: `${app.url}/trpc`, headers: as(ALICE_KEY) })] });
    const report = await client.usage.get.query({ group_by: 'model' });
    assert.deepEqual(tokensOf(report.totals), sum(aliceRuns));
    assert.equal(report.groups[0].model, MODEL);
  });
});

for (const dialect of dialects()) describe(`usage of a run that waited and resumed [${dialect}]`, () => {
  const app = useServer({ dialect, agents: { agents: { assistant: { system: 'You help.', tools: { current_time: 'ask' } } } } });

  it("the run's usage sums both stretches, and equals the usage API's totals", async () => {
    app.fake.enqueue(
      { content: [{ type: 'tool_use', id: 'toolu_t', name: 'current_time', input: {} }], usage: { input_tokens: 30, output_tokens: 4 } },
      { content: [{ type: 'text', text: 'late' }], usage: { input_tokens: 50, output_tokens: 6, cache_read_input_tokens: 25 } },
    );
    const started = await fetch(`${app.url}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'time?' }) });
    const text = await started.text();
    const runId = /"run_id":"([^"]+)"/.exec(text)![1];
    const approval = /"approval_id":"([^"]+)"/.exec(text)![1];
    const res = await call(`${app.url}/v1/runs/${runId}/inputs`, 'POST', { decisions: [{ approval_id: approval, approved: true }] });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const sse = await fetch(`${app.url}/v1/runs/${runId}/events`);
    await sse.text();
    const run = (await call(`${app.url}/v1/runs/${runId}`, 'GET')).body;
    assert.equal(run.status, 'completed');
    assert.deepEqual(run.usage, { input_tokens: 80, output_tokens: 10, cache_read_input_tokens: 25, cache_creation_input_tokens: 0 });
    const report = (await call(`${app.url}/v1/usage?group_by=model`, 'GET')).body;
    assert.deepEqual(tokensOf(report.totals), run.usage);
    assert.equal(report.totals.calls, 2);
    assert.equal(report.totals.cost_usd, null, 'no price configured for this model');
  });
});
