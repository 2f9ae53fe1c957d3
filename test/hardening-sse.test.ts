/**
 * A client that stops reading an SSE stream must not make the server buffer the rest of it:
 * writes honour backpressure, what waits per connection is capped, and a socket that does not
 * drain within the write timeout is closed. The run itself goes on and can be replayed.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { sseStats } from '../src/http/sse.js';
import { startFakeAnthropic, type FakeAnthropic } from './fixtures/fake-anthropic.js';
import { sseFrames, waitFor } from './helpers/http.js';
import { head } from './helpers/raw-http.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const CAP = 256 * 1024;
/** 8 MB of text in 1 KB words: far more than the cap plus what the kernel's socket buffers hold. */
const LONG = ('x'.repeat(1023) + ' ').repeat(8 * 1024);

/** Opens POST /v1/runs on a raw socket and never reads from it. */
function stalledClient(url: string, body: unknown): Promise<Socket> {
  const text = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(new URL(url).port), '127.0.0.1', () => {
      socket.pause();
      socket.write(head('POST', '/v1/runs', { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }) + text);
      resolve(socket);
    });
    socket.on('error', () => {});
    socket.once('error', reject);
  });
}

async function finishedRun(server: TestServer): Promise<{ id: string; status: string }> {
  return waitFor(
    async () => {
      const runs = await server.store.db.kysely.selectFrom('runs').select(['id', 'status']).execute();
      return runs.find((r) => r.status === 'completed') as { id: string; status: string } | undefined;
    },
    30_000,
    'the run to complete',
  );
}

describe('hardening: SSE to a client that stops reading (buffer cap)', () => {
  let fake: FakeAnthropic;
  let server: TestServer;

  before(async () => {
    process.env.AGENTSDK_SSE_MAX_BUFFER_BYTES = String(CAP);
    process.env.AGENTSDK_SSE_WRITE_TIMEOUT_MS = '60000';
    fake = await startFakeAnthropic();
    server = await startTestServer({ modelUrl: fake.url });
  });
  after(async () => {
    await server.stop();
    await fake.close();
    delete process.env.AGENTSDK_SSE_MAX_BUFFER_BYTES;
    delete process.env.AGENTSDK_SSE_WRITE_TIMEOUT_MS;
  });

  it('ends the stalled connection past the cap, buffers no more than the cap, and the run is replayable', async () => {
    const overflowsBefore = sseStats.overflowCloses;
    sseStats.maxBuffered = 0;
    const rssBefore = process.memoryUsage().rss;
    fake.enqueue({ content: [{ type: 'text', text: LONG }] });
    const socket = await stalledClient(server.url, { prompt: 'long please', thread_id: 'sse-stall' });
    const run = await finishedRun(server);
    await waitFor(() => sseStats.overflowCloses > overflowsBefore, 10_000, 'the stalled stream to be ended');
    // Waiting here ≤ the cap, in the socket ≤ one flush (≤ the cap + a ~1 KB frame).
    assert.ok(sseStats.maxBuffered <= 2 * CAP + 64 * 1024, `buffered up to ${sseStats.maxBuffered} bytes`);
    // The 8 MB answer is stored (events + message), but not held again for the stalled socket.
    const grownMb = (process.memoryUsage().rss - rssBefore) / 1e6;
    assert.ok(grownMb < 400, `RSS grew ${grownMb.toFixed(0)} MB`);
    socket.destroy();

    // Resume from the start by Last-Event-ID: the whole answer is there.
    const res = await fetch(`${server.url}/v1/runs/${run.id}/events`, { headers: { 'last-event-id': '0' } });
    let text = '';
    for await (const f of sseFrames(res.body!)) if (f.json?.type === 'text.delta') text += f.json.delta ?? f.json.text ?? '';
    assert.equal(text.length, LONG.length);
  });

  it('a replay of a long run reaches a reader that keeps up, under the cap', async () => {
    const run = await finishedRun(server);
    const res = await fetch(`${server.url}/v1/runs/${run.id}/events`, { headers: { 'last-event-id': '0' } });
    let text = '';
    for await (const f of sseFrames(res.body!)) if (f.json?.type === 'text.delta') text += f.json.delta;
    assert.equal(text.length, LONG.length);
  });

  it('a reader that keeps up gets the whole stream', async () => {
    const overflowsBefore = sseStats.overflowCloses;
    const answer = ('y'.repeat(511) + ' ').repeat(2048); // 1 MB, over the cap in total, streamed over ~1 s
    fake.enqueue({ content: [{ type: 'text', text: answer }], chunkDelayMs: 0.5 });
    const res = await fetch(`${server.url}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'medium' }) });
    let text = '';
    let finished = false;
    for await (const f of sseFrames(res.body!)) {
      if (f.json?.type === 'text.delta') text += f.json.delta ?? f.json.text ?? '';
      if (f.json?.type === 'run.finished') finished = true;
    }
    assert.ok(finished, 'the stream ran to its end');
    assert.equal(text.length, answer.length);
    assert.equal(sseStats.overflowCloses, overflowsBefore);
  });
});

describe('hardening: SSE to a client that stops reading (write timeout)', () => {
  let fake: FakeAnthropic;
  let server: TestServer;

  before(async () => {
    // A cap the answer never reaches: only the write timeout can end the stalled stream.
    process.env.AGENTSDK_SSE_MAX_BUFFER_BYTES = String(64 * 1024 * 1024);
    process.env.AGENTSDK_SSE_WRITE_TIMEOUT_MS = '300';
    fake = await startFakeAnthropic();
    server = await startTestServer({ modelUrl: fake.url });
  });
  after(async () => {
    await server.stop();
    await fake.close();
    delete process.env.AGENTSDK_SSE_MAX_BUFFER_BYTES;
    delete process.env.AGENTSDK_SSE_WRITE_TIMEOUT_MS;
  });

  it('closes a connection whose socket does not drain in time', async () => {
    const before = sseStats.writeTimeouts;
    fake.enqueue({ content: [{ type: 'text', text: LONG }] });
    const socket = await stalledClient(server.url, { prompt: 'long please' });
    await waitFor(() => sseStats.writeTimeouts > before, 10_000, 'the write timeout');
    socket.destroy();
    await finishedRun(server);
  });
});
