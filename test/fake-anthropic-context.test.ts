/**
 * The fake Anthropic server's context-window features (token limit, estimated usage, prompt-cache
 * simulation, cache_control validation, count_tokens), driven through the real SDK so the error
 * and usage shapes are the ones agent code will see.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic, { BadRequestError, NotFoundError } from '@anthropic-ai/sdk';
import {
  breakpointsOf,
  estimateTokens,
  startFakeAnthropic,
  stripCacheControl,
  type FakeAnthropic,
} from './fixtures/fake-anthropic.js';

const MODEL = 'claude-test-model';
const EPHEMERAL = { type: 'ephemeral' as const };
type MessageParam = Anthropic.Messages.MessageParam;

/** Filler long enough that prefixes differ clearly in token counts. */
const filler = (label: string) => `${label}: ${'lorem ipsum dolor sit amet '.repeat(20)}`;

const text = (t: string, cached = false): Anthropic.Messages.TextBlockParam =>
  cached ? { type: 'text', text: t, cache_control: EPHEMERAL } : { type: 'text', text: t };

describe('pure helpers', () => {
  test('estimateTokens: ceil(JSON length / 4) over tools, system and messages, cache_control ignored', () => {
    const messages = [{ role: 'user', content: 'hello' }];
    const expected = Math.ceil(JSON.stringify({ messages }).length / 4);
    assert.equal(estimateTokens({ model: MODEL, max_tokens: 5, messages }), expected);
    const cached = { messages: [{ role: 'user', content: [{ type: 'text', text: 'hello', cache_control: EPHEMERAL }] }] };
    const plain = { messages: [{ role: 'user', content: [{ type: 'text', text: 'hello' }] }] };
    assert.equal(estimateTokens(cached), estimateTokens(plain));
    const full = { tools: [{ name: 't', input_schema: {} }], system: 'sys', messages };
    assert.equal(estimateTokens(full), Math.ceil(JSON.stringify(full).length / 4));
  });

  test('stripCacheControl deep-copies without cache_control and keeps key order', () => {
    const input = { b: 1, cache_control: EPHEMERAL, a: [{ z: 1, cache_control: EPHEMERAL, y: { cache_control: 1, x: 2 } }] };
    const out = stripCacheControl(input);
    assert.equal(JSON.stringify(out), '{"b":1,"a":[{"z":1,"y":{"x":2}}]}');
    assert.ok('cache_control' in input, 'the input is not modified');
  });

  test('breakpointsOf lists tools, system and message blocks with their ttl', () => {
    const body = {
      tools: [{ name: 'a' }, { name: 'b' }, { name: 'c', cache_control: EPHEMERAL }],
      system: [{ type: 'text', text: 's', cache_control: { type: 'ephemeral', ttl: '1h' } }],
      messages: [
        { role: 'user', content: 'plain string' },
        { role: 'user', content: [{ type: 'text', text: 'x' }, { type: 'text', text: 'y', cache_control: EPHEMERAL }] },
      ],
    };
    assert.deepEqual(breakpointsOf(body), [
      { path: 'tools[2]', ttl: '5m' },
      { path: 'system[0]', ttl: '1h' },
      { path: 'messages[1].content[1]', ttl: '5m' },
    ]);
    assert.deepEqual(breakpointsOf({ messages: [] }), []);
  });
});

describe('fake-anthropic context features', () => {
  let fake: FakeAnthropic;
  let client: Anthropic;

  before(async () => {
    fake = await startFakeAnthropic();
    client = new Anthropic({ apiKey: 'test', baseURL: fake.url, maxRetries: 0 });
  });
  afterEach(() => fake.reset());
  after(() => fake.close());

  const create = (messages: MessageParam[], extra: Partial<Anthropic.Messages.MessageCreateParamsNonStreaming> = {}) =>
    client.messages.create({ model: MODEL, max_tokens: 64, messages, ...extra });

  test('over the context limit: the real 400 text, and the queued reply is kept', async () => {
    fake.configure({ contextLimit: 100 });
    fake.enqueue({ content: [{ type: 'text', text: 'queued' }] });
    const long: MessageParam[] = [{ role: 'user', content: filler('long') }];

    await assert.rejects(create(long), (err: unknown) => {
      assert.ok(err instanceof BadRequestError);
      assert.equal(err.status, 400);
      assert.equal(err.type, 'invalid_request_error');
      const n = estimateTokens(fake.requests[0].body);
      assert.ok(n > 100);
      assert.equal(err.apiMessage, `prompt is too long: ${n} tokens > 100 maximum`);
      assert.match(err.requestID ?? '', /^req_/);
      return true;
    });
    assert.equal(fake.requests.length, 1, 'a rejected request is still recorded');

    const msg = await create([{ role: 'user', content: 'short' }]);
    assert.equal(msg.content[0].type === 'text' && msg.content[0].text, 'queued');
    // Under a limit the usage is the estimate too.
    assert.equal(msg.usage.input_tokens, estimateTokens(fake.requests[1].body));
  });

  test('a rejected request does not call the handler', async () => {
    let calls = 0;
    fake.setHandler(() => (calls++, {}));
    fake.configure({ contextLimit: 1 });
    await assert.rejects(create([{ role: 'user', content: 'hi' }]), BadRequestError);
    assert.equal(calls, 0);
  });

  test('tokenUsage: input_tokens equals estimateTokens(body), streaming too, reply usage wins', async () => {
    fake.configure({ tokenUsage: true });
    const messages: MessageParam[] = [{ role: 'user', content: filler('q') }];
    const msg = await create(messages, { system: 'be brief' });
    const expected = estimateTokens(fake.requests[0].body);
    assert.equal(msg.usage.input_tokens, expected);
    assert.equal(msg.usage.cache_read_input_tokens, 0);
    assert.equal(msg.usage.cache_creation_input_tokens, 0);

    const streamed = await client.messages.stream({ model: MODEL, max_tokens: 64, messages }).finalMessage();
    assert.equal(streamed.usage.input_tokens, estimateTokens(fake.requests[1].body));

    fake.enqueue({ usage: { input_tokens: 3 } });
    assert.equal((await create(messages)).usage.input_tokens, 3);
  });

  test('defaults are unchanged: input_tokens 10 and raw body recorded', async () => {
    const msg = await create([{ role: 'user', content: filler('q') }]);
    assert.equal(msg.usage.input_tokens, 10);
    const [rec] = fake.requests;
    assert.equal(typeof rec.raw, 'string');
    assert.deepEqual(JSON.parse(rec.raw), rec.body);
  });

  test('cache simulation: write, then read of the previous prefix, and a key-order miss', async () => {
    fake.configure({ cache: true });
    const system = 'You are a careful assistant.';
    const turn1: MessageParam[] = [{ role: 'user', content: [text(filler('first question'), true)] }];

    // Request 1: nothing cached yet, so the whole prefix up to the breakpoint is written.
    const first = await create(turn1, { system });
    const total1 = estimateTokens(fake.requests[0].body);
    assert.equal(first.usage.cache_read_input_tokens, 0);
    assert.ok((first.usage.cache_creation_input_tokens ?? 0) > 0);
    assert.equal(first.usage.cache_creation_input_tokens, total1, 'breakpoint on the last block covers everything');
    assert.equal(first.usage.input_tokens, 0);
    assert.deepEqual(first.usage.cache_creation, { ephemeral_5m_input_tokens: total1, ephemeral_1h_input_tokens: 0 });

    // Request 2: same prefix, one more turn, breakpoint moved to the new end.
    const turn2: MessageParam[] = [
      { role: 'user', content: [text(filler('first question'))] },
      { role: 'assistant', content: [text(filler('first answer'))] },
      { role: 'user', content: [text(filler('second question'), true)] },
    ];
    const second = await create(turn2, { system });
    const total2 = estimateTokens(fake.requests[1].body);
    assert.equal(second.usage.cache_read_input_tokens, first.usage.cache_creation_input_tokens);
    assert.equal(second.usage.cache_creation_input_tokens, total2 - total1);
    assert.equal(
      second.usage.input_tokens + (second.usage.cache_read_input_tokens ?? 0) + (second.usage.cache_creation_input_tokens ?? 0),
      total2,
    );

    // Same request again: a full hit, nothing written.
    const again = await create(turn2, { system });
    assert.equal(again.usage.cache_read_input_tokens, total2);
    assert.equal(again.usage.cache_creation_input_tokens, 0);

    // Request 3: same content but the first block's keys in another order: different bytes, no hit.
    const reordered = structuredClone(turn2);
    reordered[0].content = [{ text: filler('first question'), type: 'text' }];
    const third = await create(reordered, { system });
    assert.equal(third.usage.cache_read_input_tokens, 0);
    assert.equal(third.usage.cache_creation_input_tokens, estimateTokens(fake.requests[3].body));
  });

  test('cache simulation: an uncached tail after the breakpoint is plain input', async () => {
    fake.configure({ cache: true });
    const tools: Anthropic.Messages.Tool[] = [
      { name: 'read_file', description: filler('reads'), input_schema: { type: 'object' }, cache_control: EPHEMERAL },
    ];
    const messages: MessageParam[] = [{ role: 'user', content: filler('question') }];
    const first = await create(messages, { tools });
    const toolsTokens = estimateTokens({ tools: stripCacheControl(tools) });
    assert.equal(first.usage.cache_creation_input_tokens, toolsTokens);
    assert.equal(first.usage.input_tokens, estimateTokens(fake.requests[0].body) - toolsTokens);

    // A different question after the same tools reads the tools prefix.
    const second = await create([{ role: 'user', content: 'another' }], { tools });
    assert.equal(second.usage.cache_read_input_tokens, toolsTokens);
    assert.equal(second.usage.cache_creation_input_tokens, 0);
  });

  test('cache simulation: a hit is only found within 20 blocks before a breakpoint', async () => {
    fake.configure({ cache: true });
    const head = text(filler('head'));
    const tail = (n: number) => Array.from({ length: n }, (_, i) => text(`tail ${i}`));
    const withBreakpointAtEnd = (blocks: Anthropic.Messages.TextBlockParam[]) =>
      blocks.map((b, i) => (i === blocks.length - 1 ? { ...b, cache_control: EPHEMERAL } : b));

    const written = await create([{ role: 'user', content: withBreakpointAtEnd([head]) }]);
    const headTokens = written.usage.cache_creation_input_tokens;
    // 20 blocks after the written one: the written boundary is exactly at the lookback edge.
    const near = await create([{ role: 'user', content: withBreakpointAtEnd([head, ...tail(20)]) }]);
    assert.equal(near.usage.cache_read_input_tokens, headTokens);
    fake.reset();
    fake.configure({ cache: true });
    await create([{ role: 'user', content: withBreakpointAtEnd([head]) }]);
    const far = await create([{ role: 'user', content: withBreakpointAtEnd([head, ...tail(21)]) }]);
    assert.equal(far.usage.cache_read_input_tokens, 0);
  });

  test('more than 4 cache_control blocks is a 400', async () => {
    const content = Array.from({ length: 5 }, (_, i) => text(`block ${i}`, true));
    await assert.rejects(create([{ role: 'user', content }]), (err: unknown) => {
      assert.ok(err instanceof BadRequestError);
      assert.equal(err.apiMessage, 'A maximum of 4 blocks with cache_control may be provided. Found 5.');
      return true;
    });
    // Four is fine, even without any option configured.
    await create([{ role: 'user', content: content.slice(0, 4) }]);
  });

  test('an invalid cache_control is a 400', async () => {
    const res = await fetch(`${fake.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: MODEL,
        max_tokens: 5,
        messages: [{ role: 'user', content: [{ type: 'text', text: 'x', cache_control: { type: 'ephemeral', ttl: '10m' } }] }],
      }),
    });
    assert.equal(res.status, 400);
    const body = await res.json();
    assert.equal(body.error.type, 'invalid_request_error');
    assert.match(body.error.message, /messages\[0\]\.content\[0\]\.cache_control\.ttl/);
  });

  test('1h ttl needs the extended-cache-ttl beta header, then counts as ephemeral_1h', async () => {
    fake.configure({ cache: true });
    const messages: MessageParam[] = [
      { role: 'user', content: [{ type: 'text', text: filler('q'), cache_control: { type: 'ephemeral', ttl: '1h' } }] },
    ];
    await assert.rejects(create(messages), (err: unknown) => {
      assert.ok(err instanceof BadRequestError);
      assert.match(err.apiMessage ?? '', /extended-cache-ttl-2025-04-11/);
      return true;
    });

    const msg = await client.messages.create(
      { model: MODEL, max_tokens: 64, messages },
      { headers: { 'anthropic-beta': 'extended-cache-ttl-2025-04-11' } },
    );
    const total = estimateTokens(fake.requests[1].body);
    assert.equal(msg.usage.cache_creation_input_tokens, total);
    assert.deepEqual(msg.usage.cache_creation, { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: total });

    // With the check switched off, no header is needed.
    fake.configure({ requireBetaFor1h: false });
    await create(messages);
  });

  test('count_tokens via the SDK, recorded in tokenCounts only; 404 when switched off', async () => {
    const params = { model: MODEL, messages: [{ role: 'user' as const, content: filler('count me') }] };
    const { data, response } = await client.messages.countTokens(params).withResponse();
    assert.equal(data.input_tokens, estimateTokens(params));
    assert.match(response.headers.get('request-id') ?? '', /^req_/);
    assert.equal(fake.tokenCounts.length, 1);
    assert.equal(fake.tokenCounts[0].path, '/v1/messages/count_tokens');
    assert.deepEqual(fake.tokenCounts[0].body, params);
    assert.equal(fake.requests.length, 0);

    fake.configure({ countTokens: false });
    await assert.rejects(client.messages.countTokens(params), (err: unknown) => {
      assert.ok(err instanceof NotFoundError);
      assert.equal(err.type, 'not_found_error');
      return true;
    });
    assert.equal(fake.tokenCounts.length, 1);
  });

  test('configure merges, reset() restores defaults and clears the cache', async () => {
    fake.configure({ contextLimit: 5 });
    fake.configure({ cache: true }); // merged: the limit stays
    await assert.rejects(create([{ role: 'user', content: filler('q') }]), BadRequestError);

    fake.configure({ contextLimit: null });
    const cached: MessageParam[] = [{ role: 'user', content: [text(filler('q'), true)] }];
    await create(cached);
    await client.messages.countTokens({ model: MODEL, messages: cached });

    fake.reset();
    assert.equal(fake.requests.length, 0);
    assert.equal(fake.tokenCounts.length, 0);
    const plain = await create([{ role: 'user', content: filler('q') }]);
    assert.equal(plain.usage.input_tokens, 10, 'no computed usage after reset');
    assert.equal(plain.usage.cache_read_input_tokens, 0);

    // The cache was cleared too: the same cached request writes again.
    fake.configure({ cache: true });
    const rewrite = await create(cached);
    assert.equal(rewrite.usage.cache_read_input_tokens, 0);
    assert.ok((rewrite.usage.cache_creation_input_tokens ?? 0) > 0);
  });
});
