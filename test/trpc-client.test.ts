import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTRPCClient, httpBatchLink, httpLink, httpSubscriptionLink, splitLink, TRPCClientError } from '@trpc/client';
import { EventSource } from 'eventsource';
import type { AppRouter } from 'agent-server/trpc';
import type { RunEvent } from 'agent-server/contracts';
import { startCutProxy, type CutProxy } from './helpers/cut-proxy.js';
import { waitFor } from './helpers/http.js';
import { useServer } from './helpers/setup.js';
import { words } from './helpers/text.js';

/**
 * EventSource waits 3 s before reconnecting unless the server sent `retry:`; tRPC sends none,
 * so the test client asks for 100 ms to resume while the run is still going.
 */
const quickRetryFetch: typeof fetch = async (input, init) => {
  const res = await fetch(input, init);
  if (!res.body) return res;
  const retry = new TextEncoder().encode('retry: 100\n\n');
  const body = res.body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({ start: (c) => c.enqueue(retry) }));
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
};

/** The typed client an app would build: batching for calls, SSE for subscriptions. */
function client(url: string, batch = true) {
  const http = batch ? httpBatchLink({ url: `${url}/trpc` }) : httpLink({ url: `${url}/trpc` });
  const sse = httpSubscriptionLink({ url: `${url}/trpc`, EventSource, eventSourceOptions: { fetch: quickRetryFetch } });
  return createTRPCClient<AppRouter>({ links: [splitLink({ condition: (op) => op.type === 'subscription', true: sse, false: http })] });
}

interface Received {
  id: string;
  event: RunEvent;
}

/** Collects a subscription's tracked events until it completes (the run's terminal event). */
function collect(subscribe: (handlers: { onData(d: { id: string; data: { type: string } }): void; onError(e: unknown): void; onComplete(): void }) => { unsubscribe(): void }) {
  const received: Received[] = [];
  let sub!: { unsubscribe(): void };
  const done = new Promise<void>((resolve, reject) => {
    sub = subscribe({ onData: (d) => received.push({ id: d.id, event: d.data as RunEvent }), onError: reject, onComplete: resolve });
  });
  return { received, done, stop: () => sub.unsubscribe() };
}

describe('tRPC with @trpc/client', () => {
  const app = useServer();
  let proxy: CutProxy;

  before(async () => {
    proxy = await startCutProxy(app.url);
  });
  after(async () => {
    await proxy?.close();
  });

  it('answers queries and mutations over batched and plain HTTP links', async () => {
    const trpc = client(app.url);
    assert.deepEqual(await trpc.health.query(), { status: 'ok' });
    app.fake.enqueue({ content: [{ type: 'text', text: 'Hi from tRPC.' }] });
    const result = await trpc.run.mutate({ prompt: 'hello', session_id: 'trpc-thread' });
    assert.equal(result.output, 'Hi from tRPC.');
    assert.equal(result.session_id, 'trpc-thread');

    // One batched request for several queries.
    const [threads, thread, messages, runs, agents] = await Promise.all([
      trpc.threads.list.query({ limit: 10 }),
      trpc.threads.get.query({ id: 'trpc-thread' }),
      trpc.threads.messages.query({ id: 'trpc-thread', order: 'asc' }),
      trpc.runs.list.query({ thread_id: 'trpc-thread' }),
      trpc.agents.list.query(),
    ]);
    assert.ok(threads.items.some((t) => t.id === 'trpc-thread'));
    assert.equal(thread.agent_id, 'assistant');
    assert.deepEqual(
      messages.items.map((m) => m.role),
      ['user', 'assistant'],
    );
    assert.deepEqual(messages.items[1].content, [{ type: 'text', text: 'Hi from tRPC.' }]);
    assert.equal(runs.items.length, 1);
    assert.equal(runs.items[0].id, result.run_id);
    assert.equal(runs.items[0].origin, 'trpc');
    assert.deepEqual(
      agents.items.map((a) => a.id),
      ['assistant'],
    );

    const plain = client(app.url, false);
    const run = await plain.runs.get.query({ id: result.run_id });
    assert.equal(run.status, 'completed');
    assert.deepEqual(run.usage, { input_tokens: 10, output_tokens: 3, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 });
    const patched = await plain.threads.updateMetadata.mutate({ id: 'trpc-thread', title: 'Greetings', tag: 'x' });
    assert.equal(patched.title, 'Greetings');
    assert.deepEqual(patched.metadata, { tag: 'x' });
    const summaries = await plain.threads.summaries.query({});
    const summary = summaries.items.find((s) => s.id === 'trpc-thread');
    assert.equal(summary?.message_count, 2);
    assert.equal(summary?.last_message?.preview, 'Hi from tRPC.');
    await plain.threads.delete.mutate({ id: 'trpc-thread' });
    await assert.rejects(plain.threads.get.query({ id: 'trpc-thread' }), (err: unknown) => {
      assert.ok(err instanceof TRPCClientError);
      assert.deepEqual(err.data, { error: 'unknown thread "trpc-thread"', code: 'not_found', httpStatus: 404, path: 'threads.get' });
      return true;
    });
  });

  it('carries the shared error body (with issues) in error.data', async () => {
    const trpc = client(app.url, false);
    await assert.rejects(trpc.threads.list.query({ limit: 500 }), (err: unknown) => {
      assert.ok(err instanceof TRPCClientError);
      assert.equal(err.data.code, 'bad_request');
      assert.equal(err.data.httpStatus, 400);
      assert.deepEqual(err.data.issues, [{ path: ['limit'], message: 'limit must be at most 200' }]);
      assert.equal(err.data.stack, undefined);
      return true;
    });
    await assert.rejects(trpc.runs.cancel.mutate({ id: 'run_missing' }), (err: unknown) => err instanceof TRPCClientError && err.data.code === 'not_found');
  });

  it('streams a run it starts (runs.start), with ids <run_id>:<seq>', async () => {
    app.fake.enqueue({ content: [{ type: 'text', text: words(5) }] });
    const trpc = client(app.url);
    const sub = collect((h) => trpc.runs.start.subscribe({ prompt: 'stream it' }, h));
    await sub.done;
    const started = sub.received[0].event;
    assert.equal(started.type, 'run.started');
    const runId = started.type === 'run.started' ? started.run_id : '';
    assert.deepEqual(
      sub.received.map((r) => r.id),
      sub.received.map((_, i) => `${runId}:${i + 1}`),
    );
    const last = sub.received[sub.received.length - 1].event;
    assert.equal(last.type, 'run.finished');
    assert.equal(last.type === 'run.finished' && last.output, words(5));
  });

  it('runs.events: a cut connection resumes with every event exactly once', async () => {
    app.fake.enqueue({ content: [{ type: 'text', text: words(60) }], chunkDelayMs: 25 });
    const trpc = client(app.url);
    const started = collect((h) => trpc.runs.start.subscribe({ prompt: 'long one', thread_id: 'resume-events' }, h));
    const runId = await waitFor(() => started.received[0]?.id.split(':')[0]);
    started.stop();

    const through = client(proxy.url);
    const seen = proxy.requests.length;
    const sub = collect((h) => through.runs.events.subscribe({ id: runId }, h));
    await waitFor(() => sub.received.length >= 5, 10_000, 'first events');
    const beforeCut = sub.received.length;
    proxy.cut(); // EventSource reconnects with Last-Event-ID; the server resumes after it.
    await waitFor(() => sub.received.length > beforeCut, 10_000, 'events after the reconnect');
    assert.ok(app.server.runtime.get(runId), 'resumed while the run was still live');
    await sub.done;
    assert.equal(proxy.requests.length - seen, 2, 'one request, cut, and one reconnect');
    const stored = await trpc.runs.get.query({ id: runId });
    assert.equal(stored.status, 'completed');
    assert.deepEqual(
      sub.received.map((r) => r.id),
      sub.received.map((_, i) => String(i + 1)),
    );
    assert.equal(sub.received[sub.received.length - 1].event.type, 'run.finished');
    const text = sub.received.flatMap((r) => (r.event.type === 'text.delta' ? [r.event.delta] : [])).join('');
    assert.equal(text, words(60));
  });

  it('runs.start: a cut connection resumes the same run instead of starting another', async () => {
    app.fake.enqueue({ content: [{ type: 'text', text: words(60) }], chunkDelayMs: 25 });
    const through = client(proxy.url);
    const seen = proxy.requests.length;
    const sub = collect((h) => through.runs.start.subscribe({ prompt: 'only once', thread_id: 'resume-start' }, h));
    await waitFor(() => sub.received.length >= 5, 10_000, 'first events');
    const beforeCut = sub.received.length;
    proxy.cut();
    await waitFor(() => sub.received.length > beforeCut, 10_000, 'events after the reconnect');
    const runId = sub.received[0].id.split(':')[0];
    assert.ok(app.server.runtime.get(runId), 'resumed while the run was still live');
    await sub.done;
    assert.equal(proxy.requests.length - seen, 2, 'one request, cut, and one reconnect');
    assert.deepEqual(
      sub.received.map((r) => r.id),
      sub.received.map((_, i) => `${runId}:${i + 1}`),
    );
    assert.equal(sub.received[sub.received.length - 1].event.type, 'run.finished');
    const runs = await client(app.url).runs.list.query({ thread_id: 'resume-start' });
    assert.equal(runs.items.length, 1);
    assert.equal(app.fake.requests.length, 1);
  });

  it('runs.events replays a finished run from lastEventId and ends', async () => {
    app.fake.enqueue({ content: [{ type: 'text', text: words(3) }] });
    const trpc = client(app.url);
    const result = await trpc.run.mutate({ prompt: 'short' });
    const all = collect((h) => trpc.runs.events.subscribe({ id: result.run_id }, h));
    await all.done;
    const tail = collect((h) => trpc.runs.events.subscribe({ id: result.run_id, lastEventId: '3' }, h));
    await tail.done;
    assert.deepEqual(
      tail.received.map((r) => r.id),
      all.received.slice(3).map((r) => r.id),
    );
    const unknown = collect((h) => trpc.runs.events.subscribe({ id: 'run_unknown' }, h));
    await assert.rejects(unknown.done, (err: unknown) => err instanceof TRPCClientError && err.data?.code === 'not_found');
  });
});
