/** Background runs: 202 with the run record, then poll, wait (and its 408), follow with Last-Event-ID; REST, lean, tRPC, openapi-fetch. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTRPCClient, httpLink } from '@trpc/client';
import createClient from 'openapi-fetch';
import type { AppRouter } from '../src/trpc/router.js';
import type { paths } from './generated/openapi.js';
import { assertError, call, openSse } from './helpers/api.js';
import { dialects } from './helpers/databases.js';
import { postJson, waitFor } from './helpers/http.js';
import { useServer } from './helpers/setup.js';

for (const dialect of dialects()) {
  describe(`background runs [${dialect}]`, () => {
    const app = useServer({ dialect });
    const trpc = () => createTRPCClient<AppRouter>({ links: [httpLink({ url: `${app.url}/trpc` })] });

    it('POST /v1/runs with background: 202 and the record at once, then poll, wait and follow (Last-Event-ID resumes)', async () => {
      app.fake.enqueue({ content: [{ type: 'text', text: 'a slow answer in several words' }], chunkDelayMs: 40 });
      const t0 = Date.now();
      const started = await postJson(`${app.url}/v1/runs`, { prompt: 'take your time', background: true, thread_id: 'bg-rest' });
      assert.equal(started.status, 202);
      assert.ok(Date.now() - t0 < 1000, 'answered before the run ended');
      const run = started.body;
      assert.match(run.id, /^run_/);
      assert.equal(run.thread_id, 'bg-rest');
      assert.ok(['queued', 'running'].includes(run.status), run.status);
      assert.equal(run.output, null);
      assert.equal(run.webhook, null);

      // Poll: it is still going, then it completes.
      const polled = await call(`${app.url}/v1/runs/${run.id}`, 'GET');
      assert.equal(polled.status, 200);
      assert.equal(polled.body.id, run.id);

      const waited = await call(`${app.url}/v1/runs/${run.id}/wait?timeout=10`, 'GET');
      assert.equal(waited.status, 200);
      assert.equal(waited.body.status, 'completed');
      assert.equal(waited.body.output, 'a slow answer in several words');
      assert.ok(Date.now() - t0 >= 150, 'the wait lasted until the run ended');
      assert.equal((await call(`${app.url}/v1/runs/${run.id}`, 'GET')).body.status, 'completed');

      // Follow: every event from the start, then from an id on (Last-Event-ID).
      const all = await openSse(`${app.url}/v1/runs/${run.id}/events`);
      await all.done;
      const types = all.frames.map((f) => f.json.type);
      assert.equal(types[0], 'run.started');
      assert.equal(types.at(-1), 'run.finished');
      const mid = all.frames[2].id;
      const rest = await openSse(`${app.url}/v1/runs/${run.id}/events`, { headers: { 'last-event-id': String(mid) } });
      await rest.done;
      assert.deepEqual(rest.frames.map((f) => f.id), all.frames.slice(3).map((f) => f.id));
    });

    it('follows a background run live while it runs', async () => {
      app.fake.enqueue({ content: [{ type: 'text', text: 'one two three four five' }], chunkDelayMs: 60 });
      const { body: run } = await postJson(`${app.url}/v1/runs`, { prompt: 'count', background: true });
      const events = await openSse(`${app.url}/v1/runs/${run.id}/events`);
      await events.done;
      const text = events.frames.filter((f) => f.json.type === 'text.delta').map((f) => f.json.delta).join('');
      assert.equal(text, 'one two three four five');
      assert.equal(events.frames.at(-1)!.json.status, 'completed');
    });

    it('wait answers 408 with the run as it is when the timeout passes first', async () => {
      app.fake.enqueue({ hang: true });
      const { body: run } = await postJson(`${app.url}/v1/runs`, { prompt: 'never answered', background: true });
      const t0 = Date.now();
      const waited = await call(`${app.url}/v1/runs/${run.id}/wait?timeout=0.3`, 'GET');
      assert.equal(waited.status, 408);
      assert.ok(Date.now() - t0 >= 280, 'it waited for the timeout');
      assert.equal(waited.body.id, run.id);
      assert.ok(['queued', 'running'].includes(waited.body.status));
      assert.equal((await call(`${app.url}/v1/runs/${run.id}/cancel`, 'POST')).status, 202);
      const ended = await call(`${app.url}/v1/runs/${run.id}/wait`, 'GET');
      assert.equal(ended.status, 200);
      assert.equal(ended.body.status, 'cancelled');
      assertError(await call(`${app.url}/v1/runs/run_nope/wait`, 'GET'), 404, 'not_found');
      assertError(await call(`${app.url}/v1/runs/${run.id}/wait?timeout=-1`, 'GET'), 400, 'bad_request');
      assertError(await call(`${app.url}/v1/runs/${run.id}/wait?timeout=soon`, 'GET'), 400, 'bad_request');
    });

    it('the lean POST /v1/run takes background too', async () => {
      app.fake.enqueue({ content: [{ type: 'text', text: 'lean in the background' }], chunkDelayMs: 30 });
      const res = await postJson(`${app.url}/v1/run`, { prompt: 'hi', session_id: 'bg-lean', background: true });
      assert.equal(res.status, 202);
      assert.equal(res.body.thread_id, 'bg-lean');
      assert.equal(res.body.origin, 'api');
      const waited = await call(`${app.url}/v1/runs/${res.body.id}/wait`, 'GET');
      assert.equal(waited.body.output, 'lean in the background');
      assertError(await postJson(`${app.url}/v1/run`, { prompt: 'hi', background: 'yes' }), 400, 'bad_request');
      assertError(await postJson(`${app.url}/v1/runs`, { prompt: 'hi', background: 1 }), 400, 'bad_request');
    });

    it('tRPC runs.create starts in the background and runs.wait waits', async () => {
      app.fake.enqueue({ content: [{ type: 'text', text: 'typed' }], chunkDelayMs: 30 });
      const client = trpc();
      const run = await client.runs.create.mutate({ prompt: 'hi', thread_id: 'bg-trpc' });
      assert.equal(run.origin, 'trpc');
      assert.ok(['queued', 'running'].includes(run.status));
      const waited = await client.runs.wait.query({ id: run.id, timeout: 10 });
      assert.equal(waited.timed_out, false);
      assert.equal(waited.run.status, 'completed');
      assert.equal(waited.run.output, 'typed');

      app.fake.enqueue({ hang: true });
      const hanging = await client.runs.create.mutate({ prompt: 'hang' });
      const timedOut = await client.runs.wait.query({ id: hanging.id, timeout: 0.2 });
      assert.equal(timedOut.timed_out, true);
      assert.ok(['queued', 'running'].includes(timedOut.run.status));
      await client.runs.cancel.mutate({ id: hanging.id });
      await waitFor(async () => (await client.runs.get.query({ id: hanging.id })).status === 'cancelled', 5000, 'cancelled');
    });

    it('the generated OpenAPI client types the 202 and the wait', async () => {
      app.fake.enqueue({ content: [{ type: 'text', text: 'described' }] });
      const api = createClient<paths>({ baseUrl: app.url });
      const started = await api.POST('/v1/runs', { body: { prompt: 'hi', background: true }, parseAs: 'json' });
      assert.equal(started.response.status, 202);
      const id = (started.data as { id: string }).id;
      const waited = await api.GET('/v1/runs/{id}/wait', { params: { path: { id }, query: { timeout: 10 } } });
      assert.equal(waited.data?.status, 'completed');
      assert.equal(waited.data?.output, 'described');
    });
  });
}
