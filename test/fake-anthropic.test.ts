/**
 * Exercises the fake Anthropic server through the real `@anthropic-ai/sdk` client, so a
 * wire-format mistake in the fixture shows up here rather than in agent tests. The suite runs
 * twice: with the SDK's default fetch, and with the undici `request` fetch the server gives the
 * SDK (src/runtime/model-fetch.ts), which must behave the same in every case.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic, { APIError, APIUserAbortError, RateLimitError } from '@anthropic-ai/sdk';
import { createModelFetch } from '../src/runtime/model-fetch.js';
import { startFakeAnthropic, type FakeAnthropic } from './fixtures/fake-anthropic.js';

const MODEL = 'claude-test-model';
const params = (extra: Record<string, unknown> = {}) => ({
  model: MODEL,
  max_tokens: 256,
  messages: [{ role: 'user' as const, content: 'hi' }],
  ...extra,
});

/** Resolves once `cond()` holds, polling briefly (for server-side state observed over HTTP). */
async function waitFor(cond: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('waitFor: timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const FETCHES: Array<[string, typeof fetch | undefined]> = [
  ['Node fetch', undefined],
  ['undici request, as the server', createModelFetch()],
];

for (const [fetchName, fetchImpl] of FETCHES) describe(`fake-anthropic fixture [${fetchName}]`, () => {
  let fake: FakeAnthropic;
  let client: Anthropic;

  before(async () => {
    fake = await startFakeAnthropic();
    client = new Anthropic({ apiKey: 'test', baseURL: fake.url, maxRetries: 0, fetch: fetchImpl });
  });
  afterEach(() => fake.reset());
  after(() => fake.close());

  test('default reply with an empty queue and no handler', async () => {
    const msg = await client.messages.create(params());
    assert.deepEqual(msg.content, [{ type: 'text', text: 'ok', citations: null }]);
    assert.equal(msg.stop_reason, 'end_turn');
    assert.equal(msg.model, MODEL);
  });

  test('streaming text: deltas, usage and stop_reason via messages.stream().finalMessage()', async () => {
    const words = Array.from({ length: 50 }, (_, i) => `word${i}`);
    const text = words.join(' ') + '.';
    fake.enqueue({ content: [{ type: 'text', text }], usage: { input_tokens: 42, cache_read_input_tokens: 7 } });

    const deltas: string[] = [];
    const stream = client.messages.stream(params());
    stream.on('text', (delta) => deltas.push(delta));
    const msg = await stream.finalMessage();

    assert.equal(deltas.length, 50);
    assert.equal(deltas.join(''), text);
    assert.equal(deltas[0], 'word0 ');
    assert.match(msg.id, /^msg_/);
    assert.equal(msg.model, MODEL);
    assert.equal(msg.stop_reason, 'end_turn');
    assert.equal(msg.stop_sequence, null);
    assert.deepEqual(msg.content.map((b) => b.type), ['text']);
    assert.equal(msg.content[0].type === 'text' && msg.content[0].text, text);
    assert.equal(msg.usage.input_tokens, 42);
    assert.equal(msg.usage.output_tokens, 50);
    assert.equal(msg.usage.cache_read_input_tokens, 7);
    assert.equal(msg.usage.cache_creation_input_tokens, 0);
  });

  test('streaming text via raw create({ stream: true }) iteration', async () => {
    fake.enqueue({ content: [{ type: 'text', text: 'Hello there world' }], stop_reason: 'max_tokens' });
    const stream = await client.messages.create({ ...params(), stream: true });

    const types: string[] = [];
    let text = '';
    let start: Anthropic.Messages.RawMessageStartEvent | undefined;
    let delta: Anthropic.Messages.RawMessageDeltaEvent | undefined;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'message_start') start = event;
      if (event.type === 'message_delta') delta = event;
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
    }

    assert.equal(text, 'Hello there world');
    // The SDK swallows ping frames, so the raw sequence is exactly this.
    assert.deepEqual(types, [
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    assert.ok(start);
    assert.equal(start.message.role, 'assistant');
    assert.equal(start.message.type, 'message');
    assert.deepEqual(start.message.content, []);
    assert.equal(start.message.stop_reason, null);
    assert.equal(start.message.usage.input_tokens, 10);
    assert.equal(start.message.usage.output_tokens, 1);
    assert.ok(delta);
    assert.equal(delta.delta.stop_reason, 'max_tokens');
    assert.equal(delta.delta.stop_sequence, null);
    assert.equal(delta.usage.output_tokens, 3);
    assert.equal(delta.usage.input_tokens, 10);
  });

  test('tool_use: input reassembled from input_json_delta pieces', async () => {
    const input = { path: '/tmp/x.txt', lines: [1, 2, 3], nested: { ok: true, emoji: '😀' } };
    fake.enqueue({
      content: [
        { type: 'text', text: 'Let me check.' },
        { type: 'tool_use', name: 'read_file', input },
      ],
    });

    const jsonPieces: string[] = [];
    const stream = await client.messages.create({ ...params(), stream: true });
    let startBlock: unknown;
    for await (const event of stream) {
      if (event.type === 'content_block_start' && event.content_block.type === 'tool_use') {
        startBlock = event.content_block;
      }
      if (event.type === 'content_block_delta' && event.delta.type === 'input_json_delta') {
        jsonPieces.push(event.delta.partial_json);
      }
    }
    assert.ok(jsonPieces.length >= 2 && jsonPieces.length <= 3, `got ${jsonPieces.length} pieces`);
    assert.deepEqual(JSON.parse(jsonPieces.join('')), input);
    assert.deepEqual((startBlock as { input: unknown }).input, {});

    // Same reply through the stream helper, which assembles the input itself.
    fake.enqueue({ content: [{ type: 'tool_use', id: 'toolu_fixed', name: 'read_file', input }] });
    const msg = await client.messages.stream(params()).finalMessage();
    assert.equal(msg.stop_reason, 'tool_use');
    const block = msg.content[0];
    assert.equal(block.type, 'tool_use');
    assert.equal(block.type === 'tool_use' && block.id, 'toolu_fixed');
    assert.equal(block.type === 'tool_use' && block.name, 'read_file');
    assert.deepEqual(block.type === 'tool_use' && block.input, input);
  });

  test('tool_use ids default to toolu_ + random', async () => {
    fake.enqueue({ content: [{ type: 'tool_use', name: 't', input: {} }] });
    const msg = await client.messages.create(params());
    const block = msg.content[0];
    assert.ok(block.type === 'tool_use');
    assert.match(block.id, /^toolu_\w{10,}$/);
    assert.deepEqual(block.input, {});
  });

  test('thinking block: thinking_delta chunks and a signature_delta', async () => {
    fake.enqueue({
      content: [
        { type: 'thinking', thinking: 'I should say hello politely.' },
        { type: 'text', text: 'Hello!' },
      ],
    });
    const thinking: string[] = [];
    const signatures: string[] = [];
    const stream = client.messages.stream(params());
    stream.on('thinking', (delta) => thinking.push(delta));
    stream.on('signature', (sig) => signatures.push(sig));
    const msg = await stream.finalMessage();

    assert.equal(thinking.length, 5);
    assert.equal(thinking.join(''), 'I should say hello politely.');
    assert.equal(signatures.length, 1);
    const [think, text] = msg.content;
    assert.ok(think.type === 'thinking');
    assert.equal(think.thinking, 'I should say hello politely.');
    assert.match(think.signature, /^[A-Za-z0-9+/=]{20,}$/);
    assert.equal(think.signature, signatures[0]);
    assert.ok(text.type === 'text');
    assert.equal(text.text, 'Hello!');
  });

  test('non-streaming create returns the full Message', async () => {
    fake.enqueue({
      content: [
        { type: 'thinking', thinking: 'hmm', signature: 'sig123' },
        { type: 'text', text: 'one two three' },
        { type: 'tool_use', id: 'toolu_1', name: 'calc', input: { a: 1 } },
      ],
      usage: { output_tokens: 99, cache_creation_input_tokens: 5 },
    });
    const { data: msg, response } = await client.messages.create(params()).withResponse();

    assert.match(response.headers.get('request-id') ?? '', /^req_/);
    assert.equal(response.headers.get('content-type'), 'application/json');
    assert.match(msg.id, /^msg_/);
    assert.equal(msg.type, 'message');
    assert.equal(msg.role, 'assistant');
    assert.equal(msg.model, MODEL);
    assert.equal(msg.stop_reason, 'tool_use');
    assert.deepEqual(msg.content, [
      { type: 'thinking', thinking: 'hmm', signature: 'sig123' },
      { type: 'text', text: 'one two three', citations: null },
      { type: 'tool_use', id: 'toolu_1', name: 'calc', input: { a: 1 }, caller: { type: 'direct' } },
    ]);
    assert.equal(msg.usage.input_tokens, 10);
    assert.equal(msg.usage.output_tokens, 99);
    assert.equal(msg.usage.cache_creation_input_tokens, 5);
    assert.equal(msg.usage.cache_read_input_tokens, 0);
  });

  test('stop_sequence echoes the first requested stop sequence', async () => {
    fake.enqueue({ content: [{ type: 'text', text: 'a b' }], stop_reason: 'stop_sequence' });
    const msg = await client.messages.create(params({ stop_sequences: ['STOP', 'END'] }));
    assert.equal(msg.stop_reason, 'stop_sequence');
    assert.equal(msg.stop_sequence, 'STOP');
  });

  test('429 surfaces as RateLimitError with status, type and request id', async () => {
    fake.enqueue({ error: { status: 429, type: 'rate_limit_error', message: 'slow down' } });
    await assert.rejects(client.messages.create(params()), (err: unknown) => {
      assert.ok(err instanceof RateLimitError);
      assert.equal(err.status, 429);
      assert.equal(err.type, 'rate_limit_error');
      assert.equal(err.apiMessage, 'slow down');
      assert.match(err.requestID ?? '', /^req_/);
      return true;
    });
  });

  test('529 surfaces as an APIError with status 529 (streaming request)', async () => {
    fake.enqueue({ error: { status: 529, type: 'overloaded_error', message: 'Overloaded' } });
    await assert.rejects(client.messages.create({ ...params(), stream: true }), (err: unknown) => {
      assert.ok(err instanceof APIError);
      assert.equal(err.status, 529);
      assert.equal(err.type, 'overloaded_error');
      return true;
    });
  });

  test('500 and 400 map to api_error / invalid_request_error', async () => {
    fake.enqueue(
      { error: { status: 500, type: 'api_error', message: 'boom' } },
      { error: { status: 400, type: 'invalid_request_error', message: 'bad' } },
    );
    await assert.rejects(client.messages.create(params()), { status: 500, type: 'api_error' });
    await assert.rejects(client.messages.create(params()), { status: 400, type: 'invalid_request_error' });
  });

  test('streamError surfaces as an error while iterating', async () => {
    fake.enqueue({
      content: [{ type: 'text', text: 'partial answer' }],
      streamError: { type: 'overloaded_error', message: 'Overloaded' },
    });
    const stream = await client.messages.create({ ...params(), stream: true });
    let text = '';
    await assert.rejects(
      (async () => {
        for await (const event of stream) {
          if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
        }
      })(),
      (err: unknown) => {
        assert.ok(err instanceof APIError);
        assert.equal(err.type, 'overloaded_error');
        assert.match(err.message, /Overloaded/);
        return true;
      },
    );
    assert.equal(text, 'partial answer');

    // The helper rejects finalMessage() the same way.
    fake.enqueue({ streamError: { type: 'api_error', message: 'Internal server error' } });
    await assert.rejects(client.messages.stream(params()).finalMessage(), { type: 'api_error' });
  });

  test('dropAfterEvents makes iteration throw after the first frames', async () => {
    fake.enqueue({ content: [{ type: 'text', text: 'one two three four five' }], dropAfterEvents: 4 });
    const stream = await client.messages.create({ ...params(), stream: true });
    const types: string[] = [];
    await assert.rejects(async () => {
      for await (const event of stream) types.push(event.type);
    });
    // Frames: message_start, content_block_start, ping (skipped by the SDK), one delta.
    assert.deepEqual(types, ['message_start', 'content_block_start', 'content_block_delta']);

    fake.enqueue({ content: [{ type: 'text', text: 'one two three' }], dropAfterEvents: 3, chunkDelayMs: 2 });
    await assert.rejects(client.messages.stream(params()).finalMessage());
    await waitFor(() => fake.inflight() === 0);
  });

  test('chunkDelayMs paces frames', async () => {
    fake.enqueue({ content: [{ type: 'text', text: 'a b c d e' }], chunkDelayMs: 10 });
    const t0 = Date.now();
    const msg = await client.messages.stream(params()).finalMessage();
    // 5 deltas + start/ping/stop frames: at least ~10 gaps of 10ms.
    assert.ok(Date.now() - t0 >= 80, `took ${Date.now() - t0}ms`);
    assert.equal(msg.content[0].type === 'text' && msg.content[0].text, 'a b c d e');
  });

  test('delayMs delays the response headers', async () => {
    fake.enqueue({ delayMs: 100 });
    const t0 = Date.now();
    await client.messages.create(params());
    assert.ok(Date.now() - t0 >= 90);
  });

  test('hang + AbortController abort', async () => {
    fake.enqueue({ hang: true });
    const ac = new AbortController();
    const pending = client.messages.create({ ...params(), stream: true }, { signal: ac.signal });
    await waitFor(() => fake.inflight() === 1);
    ac.abort();
    await assert.rejects(pending, (err: unknown) => err instanceof APIUserAbortError);
    await waitFor(() => fake.inflight() === 0);
  });

  test('abort mid-stream ends the iteration and frees the upstream request', async () => {
    fake.enqueue({ content: [{ type: 'text', text: 'a b c d e f g h' }], chunkDelayMs: 50 });
    const ac = new AbortController();
    const stream = await client.messages.create({ ...params(), stream: true }, { signal: ac.signal });
    const types: string[] = [];
    await (async () => {
      for await (const event of stream) {
        types.push(event.type);
        if (event.type === 'content_block_delta') ac.abort();
      }
    })().catch((err: unknown) => assert.ok(err instanceof Error && /abort/i.test(`${err.name} ${err.message}`), String(err)));
    assert.equal(types.filter((t) => t === 'content_block_delta').length, 1, 'nothing after the abort');
    await waitFor(() => fake.inflight() === 0);
  });

  test('handler is used when the queue is empty, with the request index', async () => {
    const seen: number[] = [];
    fake.setHandler(async (body, index) => {
      seen.push(index);
      return { content: [{ type: 'text', text: `echo ${body.messages[0].content}` }] };
    });
    fake.enqueue({ content: [{ type: 'text', text: 'queued' }] });
    const first = await client.messages.create(params());
    const second = await client.messages.create(params());
    assert.equal(first.content[0].type === 'text' && first.content[0].text, 'queued');
    assert.equal(second.content[0].type === 'text' && second.content[0].text, 'echo hi');
    assert.deepEqual(seen, [1]);

    fake.setHandler(() => {
      throw new Error('handler bug');
    });
    await assert.rejects(client.messages.create(params()), { status: 500, message: /handler bug/ });
  });

  test('recorded requests contain body, headers and path', async () => {
    await client.messages.create(params({ system: 'be brief' }));
    await client.messages.stream(params()).finalMessage();
    assert.equal(fake.requests.length, 2);
    const [first, second] = fake.requests;
    assert.equal(first.path, '/v1/messages');
    assert.equal(first.body.model, MODEL);
    assert.equal(first.body.system, 'be brief');
    assert.deepEqual(first.body.messages, [{ role: 'user', content: 'hi' }]);
    assert.equal(first.body.stream, undefined);
    assert.equal(second.body.stream, true);
    // This SDK version sends the API key as a bearer token; older ones used x-api-key.
    assert.ok(first.headers['x-api-key'] === 'test' || first.headers.authorization === 'Bearer test');
    assert.ok(first.headers['anthropic-version']);

    fake.reset();
    assert.equal(fake.requests.length, 0);
  });

  test('unknown paths get a 404 JSON error', async () => {
    const res = await fetch(`${fake.url}/v1/nope`, { method: 'POST', body: '{}' });
    assert.equal(res.status, 404);
    assert.match(res.headers.get('request-id') ?? '', /^req_/);
    const body = await res.json();
    assert.equal(body.type, 'error');
    assert.equal(body.error.type, 'not_found_error');
    assert.equal(fake.requests.length, 0);
  });

  test('raw SSE wire format', async () => {
    fake.enqueue({ content: [{ type: 'text', text: 'hi' }] });
    const res = await fetch(`${fake.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(params({ stream: true })),
    });
    assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const raw = await res.text();
    const frames = raw.split('\n\n').filter(Boolean);
    for (const frame of frames) {
      const m = /^event: (\w+)\ndata: (.*)$/.exec(frame);
      assert.ok(m, `bad frame ${JSON.stringify(frame)}`);
      assert.equal(JSON.parse(m[2]).type, m[1]);
    }
    assert.deepEqual(
      frames.map((f) => f.slice('event: '.length, f.indexOf('\n'))),
      ['message_start', 'content_block_start', 'ping', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop'],
    );
  });

  test('50 concurrent streams', async () => {
    const text = Array.from({ length: 50 }, (_, i) => `w${i}`).join(' ');
    fake.setHandler(() => ({ content: [{ type: 'text', text }] }));
    const results = await Promise.all(
      Array.from({ length: 50 }, () => client.messages.stream(params()).finalMessage()),
    );
    for (const msg of results) assert.equal(msg.content[0].type === 'text' && msg.content[0].text, text);
    assert.equal(fake.requests.length, 50);
  });

  test('close() destroys hanging sockets', async () => {
    const other = await startFakeAnthropic();
    const otherClient = new Anthropic({ apiKey: 'test', baseURL: other.url, maxRetries: 0, fetch: fetchImpl });
    other.enqueue({ hang: true });
    const pending = otherClient.messages.create(params());
    await waitFor(() => other.inflight() === 1);
    const rejected = assert.rejects(pending, (err: unknown) => err instanceof APIError);
    await other.close();
    await rejected;
    assert.equal(other.inflight(), 0);
  });
});
