import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FakeAnthropic } from './fixtures/fake-anthropic.js';
import { postJson, waitFor } from './helpers/http.js';
import { dialects } from './helpers/databases.js';
import { useServer } from './helpers/setup.js';

/** Records when the model was busy answering each prompt. */
function timeline(fake: FakeAnthropic, delayMs: number) {
  const spans: Array<{ prompt: string; start: number; end: number }> = [];
  fake.setHandler((body) => {
    const prompt = body.messages.at(-1).content[0].text as string;
    const span = { prompt, start: Date.now(), end: Date.now() + delayMs };
    spans.push(span);
    return { content: [{ type: 'text', text: `answer to ${prompt}` }], delayMs };
  });
  return spans;
}

for (const dialect of dialects()) describe(`per-thread FIFO and cross-thread parallelism [${dialect}]`, () => {
  const app = useServer({ dialect });

  it('10 concurrent requests on one session run one at a time, in request order', async () => {
    const spans = timeline(app.fake, 60);
    let maxInflight = 0;
    const probe = setInterval(() => (maxInflight = Math.max(maxInflight, app.fake.inflight())), 5);
    // Sent in order: each request has reached the server before the next is sent
    // (separate connections could otherwise overtake each other on the way).
    const pending: Array<Promise<{ status: number; body: any }>> = [];
    for (let i = 0; i < 10; i++) {
      pending.push(postJson(`${app.url}/v1/run`, { prompt: `p${i}`, session_id: 'fifo' }));
      await waitFor(async () => (await app.server.store.db.kysely.selectFrom('runs').select('id').where('thread_id', '=', 'fifo').execute()).length === i + 1, 5000, `request ${i} to arrive`);
    }
    const results = await Promise.all(pending);
    clearInterval(probe);
    assert.deepEqual(results.map((r) => r.status), Array(10).fill(200));
    assert.deepEqual(results.map((r) => r.body.output), results.map((_, i) => `answer to p${i}`));
    assert.equal(maxInflight, 1, 'never two model calls at once on one thread');
    assert.deepEqual(spans.map((s) => s.prompt), spans.map((_, i) => `p${i}`));
    for (let i = 1; i < spans.length; i++) assert.ok(spans[i].start >= spans[i - 1].end - 5, `p${i} started before p${i - 1} ended`);
    // The thread reads as 10 question/answer pairs in request order.
    const msgs = await app.server.store.messages.list('fifo');
    assert.deepEqual(
      msgs.map((m) => (m.content[0] as { text: string }).text),
      Array.from({ length: 10 }, (_, i) => [`p${i}`, `answer to p${i}`]).flat(),
    );
    // Each run saw the whole history before it.
    assert.equal(app.fake.requests[9].body.messages.length, 19);
  });

  it('10 requests on different sessions overlap in time', async () => {
    timeline(app.fake, 300);
    let maxInflight = 0;
    const probe = setInterval(() => (maxInflight = Math.max(maxInflight, app.fake.inflight())), 5);
    const start = Date.now();
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => postJson(`${app.url}/v1/run`, { prompt: `q${i}`, session_id: `par-${i}` })));
    const elapsed = Date.now() - start;
    clearInterval(probe);
    assert.deepEqual(results.map((r) => r.status), Array(10).fill(200));
    assert.equal(maxInflight, 10, 'all ten model calls were in flight together');
    assert.ok(elapsed < 10 * 300, `took ${elapsed} ms; serial would be ≥ 3000 ms`);
  });
});
