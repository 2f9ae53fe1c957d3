/**
 * Hostile HTTP input, over real sockets: every answer is a 4xx in the one error body (JSON-RPC
 * errors on A2A, tRPC's envelope on /trpc), nothing hangs, nothing is stored.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ErrorBody } from '../contracts/common.js';
import { jsonDepthExceeds, loneSurrogatePath } from '../src/http/json-body.js';
import { startFakeAnthropic, type FakeAnthropic } from './fixtures/fake-anthropic.js';
import { assertError, call } from './helpers/api.js';
import { dialects } from './helpers/databases.js';
import { head, rawRequest } from './helpers/raw-http.js';
import { startTestServer, type TestServer } from './helpers/server.js';

// Small, so a body that never arrives is cut within the test (read when the server starts).
process.env.AGENTSDK_BODY_TIMEOUT_MS = '400';

const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
const deepObj = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);

/** A tRPC error answer: the one error body inside error.data. */
function assertTrpcError(res: { status: number; body: any; headers?: Headers }, status: number, code: string): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  if (res.headers) assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  const { httpStatus, path, ...data } = res.body.error.data;
  assert.equal(httpStatus, status);
  ErrorBody.strict().parse(data);
  assert.equal(data.code, code);
}

/** A JSON-RPC error answer (A2A). */
function assertRpcError(res: { status: number; body: any }, status?: number): void {
  if (status !== undefined) assert.equal(res.status, status, JSON.stringify(res.body));
  assert.ok(res.status < 500, JSON.stringify(res.body));
  assert.equal(res.body.jsonrpc, '2.0');
  assert.equal(typeof res.body.error?.code, 'number', JSON.stringify(res.body));
  assert.equal(typeof res.body.error?.message, 'string');
}

const agUi = (over: Record<string, unknown> = {}) => ({ threadId: 'h-thread', runId: `h-run-${Math.random().toString(36).slice(2)}`, messages: [{ id: 'm1', role: 'user', content: 'hi' }], ...over });
const aiSdk = (over: Record<string, unknown> = {}) => ({ id: 'h-chat', messages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: 'hi' }] }], ...over });
const a2a = (message: Record<string, unknown>) => ({ jsonrpc: '2.0', id: 1, method: 'message/send', params: { message: { messageId: 'am1', role: 'user', parts: [{ kind: 'text', text: 'hi' }], ...message } } });

for (const dialect of dialects()) {
  describe(`hardening: hostile HTTP input [${dialect}]`, () => {
    let fake: FakeAnthropic;
    let server: TestServer;
    let url: string;
    const snapshot = async () => ({
      threads: await server.store.db.kysely.selectFrom('threads').select('id').orderBy('id').execute(),
      runs: await server.store.db.kysely.selectFrom('runs').select(['id', 'status']).orderBy('id').execute(),
      messages: await server.store.db.kysely.selectFrom('messages').select('id').orderBy('id').execute(),
    });

    before(async () => {
      fake = await startFakeAnthropic();
      server = await startTestServer({ modelUrl: fake.url, dialect });
      url = server.url;
    });
    after(async () => {
      await server.stop();
      await fake.close();
    });

    it('invalid percent-encoding in a path is 400 on every surface', async () => {
      for (const bad of ['%zz', '%FF', '%C0%AF', '%', '%E0%A4%A']) {
        for (const [method, path] of [
          ['GET', `/v1/runs/${bad}/events`],
          ['GET', `/v1/runs/${bad}`],
          ['POST', `/v1/runs/${bad}/cancel`],
          ['GET', `/v1/threads/${bad}`],
          ['GET', `/v1/threads/${bad}/messages`],
          ['GET', `/v1/ag-ui/threads/${bad}/messages`],
          ['POST', `/v1/ag-ui/agents/${bad}/runs`],
          ['POST', `/v1/ai-sdk/agents/${bad}/runs`],
          ['GET', `/v1/ai-sdk/agents/assistant/chats/${bad}/messages`],
          ['GET', `/v1/ai-sdk/agents/${bad}/chats/x/stream`],
          ['GET', `/v1/a2a/agents/${bad}/.well-known/agent-card.json`],
        ]) {
          const res = await call(`${url}${path}`, method, method === 'POST' ? {} : undefined);
          assert.equal(res.status, 400, `${method} ${path}: ${JSON.stringify(res.body)}`);
          assertError(res, 400, 'bad_request');
        }
        const rpc = await call(`${url}/v1/a2a/agents/${bad}`, 'POST', a2a({}));
        assertRpcError(rpc);
        const res = await fetch(`${url}/trpc/${bad}`);
        assertTrpcError({ status: res.status, body: await res.json(), headers: res.headers }, 400, 'bad_request');
      }
    });

    it('JSON nested 10,000 levels is 400 before anything walks it, on every JSON body', async () => {
      const before = await snapshot();
      const d = deep(10_000);
      for (const [method, path, body] of [
        ['POST', '/v1/runs/x/cancel', d],
        ['POST', '/v1/runs/x/inputs', `{"approvals":${d}}`],
        ['PATCH', '/v1/threads/x/metadata', `{"title":${d}}`],
        ['PATCH', '/v1/threads/x/metadata', deepObj(5_000)],
        ['POST', '/v1/run', `{"prompt":"x","extra":${d}}`],
        ['POST', '/v1/run/stream', `{"prompt":${d}}`],
        ['POST', '/v1/runs', `{"prompt":"x","extra":${d}}`],
        ['POST', '/v1/ag-ui/agents/assistant/runs', JSON.stringify(agUi({ state: 0 })).replace('"state":0', `"state":${d}`)],
        ['POST', '/v1/ai-sdk/agents/assistant/runs', JSON.stringify(aiSdk({ extra: 0 })).replace('"extra":0', `"extra":${d}`)],
      ]) {
        const res = await call(`${url}${path}`, method, body);
        assertError(res, 400, 'bad_request');
        assert.match(res.body.error, /nested deeper than 64/);
      }
      const rpc = await call(`${url}/v1/a2a`, 'POST', JSON.stringify(a2a({ parts: [{ kind: 'data', data: 0 }] })).replace('"data":0', `"data":${d}`));
      assertRpcError(rpc);
      assert.match(rpc.body.error.message, /nested deeper than 64/);
      const trpc = await call(`${url}/trpc/threads.updateMetadata`, 'POST', `{"id":"x","metadata":${d}}`);
      assertTrpcError(trpc, 400, 'bad_request');
      const trpcQuery = await fetch(`${url}/trpc/threads.list?input=${deep(5_000)}`);
      assertTrpcError({ status: trpcQuery.status, body: await trpcQuery.json() }, 400, 'bad_request');
      // 64 levels are fine as far as depth goes (the contract then decides).
      const ok = await call(`${url}/v1/threads/x/metadata`, 'PATCH', `{"title":"t","zz":${deep(63)}}`);
      assert.doesNotMatch(ok.body.error ?? '', /nested/);
      assert.deepEqual(await snapshot(), before);
    });

    it('malformed requests, URLs over 16 KiB and tRPC media-type errors answer JSON', async () => {
      const long = await rawRequest(url, head('GET', `/v1/threads/${'a'.repeat(17_000)}`));
      assert.equal(long.status, 431);
      assertError({ status: long.status, body: long.json }, 431, 'bad_request');
      assert.equal(long.headers.connection, 'close');
      for (const garbage of ['GARBAGE\r\n\r\n', 'GET / HTTP/9.9\r\n\r\n', 'GET /health HTTP/1.1\r\nhost: x\r\nbad header line\r\n\r\n', 'POST /v1/run HTTP/1.1\r\nhost: x\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nab']) {
        const res = await rawRequest(url, garbage);
        assertError({ status: res.status, body: res.json }, 400, 'bad_request');
        assert.equal(res.headers.connection, 'close');
        assert.match(res.headers['content-type'], /^application\/json/);
      }
      const trpc415 = await fetch(`${url}/trpc/threads.delete`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"id":"x"}' });
      assertTrpcError({ status: trpc415.status, body: await trpc415.json(), headers: trpc415.headers }, 415, 'unsupported_media_type');
      const asset = await call(`${url}/docs/nope.js`, 'GET');
      assertError(asset, 404, 'not_found');
      assert.equal((await fetch(`${url}/health`)).status, 200);
    });

    it('a declared body over the limit is 413 at once on every route; A2A keeps 8 MiB', async () => {
      const huge = { 'content-type': 'application/json', 'content-length': '99999999999' };
      for (const [method, path] of [
        ['POST', '/v1/run'],
        ['POST', '/v1/run/stream'],
        ['POST', '/v1/runs'],
        ['POST', '/v1/runs/x/cancel'],
        ['PATCH', '/v1/threads/x/metadata'],
        ['POST', '/v1/ag-ui/agents/assistant/runs'],
        ['POST', '/v1/ai-sdk/agents/assistant/runs'],
        ['POST', '/trpc/threads.delete'],
        ['POST', '/v1/nothing/here'],
      ]) {
        const res = await rawRequest(url, head(method, path, huge), { timeoutMs: 2000 });
        assert.equal(res.status, 413, `${method} ${path}`);
        assert.equal(res.headers.connection, 'close');
        if (path.startsWith('/trpc')) assertTrpcError({ status: res.status, body: res.json }, 413, 'payload_too_large');
        else assertError({ status: res.status, body: res.json }, 413, 'payload_too_large');
      }
      for (const path of ['/v1/a2a', '/v1/a2a/agents/assistant']) {
        const res = await rawRequest(url, head('POST', path, huge), { timeoutMs: 2000 });
        assertRpcError({ status: res.status, body: res.json }, 413);
      }
      // 2 MiB: over the JSON routes' 1 MiB, within A2A's 8 MiB.
      const big = JSON.stringify(a2a({ parts: [{ kind: 'text', text: 'x'.repeat(2 * 1024 * 1024) }], messageId: '..' }));
      const a2aBig = await call(`${url}/v1/a2a`, 'POST', big);
      assert.notEqual(a2aBig.status, 413);
      assertRpcError(a2aBig);
      assertError(await call(`${url}/v1/run`, 'POST', JSON.stringify({ prompt: 'x'.repeat(2 * 1024 * 1024) })), 413, 'payload_too_large');
    });

    it('a body that never arrives is cut with 408 after the body timeout, on every route', async () => {
      const before = await snapshot();
      for (const [method, path] of [
        ['POST', '/v1/run'],
        ['POST', '/v1/runs'],
        ['PATCH', '/v1/threads/x/metadata'],
        ['POST', '/v1/ag-ui/agents/assistant/runs'],
        ['POST', '/v1/ai-sdk/agents/assistant/runs'],
        ['POST', '/trpc/threads.delete'],
        ['POST', '/v1/a2a'],
      ]) {
        // Half a body, then silence.
        const res = await rawRequest(url, head(method, path, { 'content-type': 'application/json', 'content-length': 100 }) + '{"prompt":', { timeoutMs: 3000 });
        assert.equal(res.status, 408, `${method} ${path}: ${res.text}`);
        assert.ok(res.ms >= 350 && res.ms < 2500, `${method} ${path} answered after ${res.ms} ms`);
        assert.equal(res.headers.connection, 'close');
        if (path.startsWith('/trpc')) assertTrpcError({ status: res.status, body: res.json }, 408, 'request_timeout');
        else if (path.startsWith('/v1/a2a')) assertRpcError({ status: res.status, body: res.json }, 408);
        else assertError({ status: res.status, body: res.json }, 408, 'request_timeout');
      }
      // No route: answered at once, and the connection (its body still owed) is closed at the deadline.
      const started = Date.now();
      const closedAfter = await new Promise<number>((resolve, reject) => {
        const socket = connect(Number(new URL(url).port), '127.0.0.1', () => socket.write(head('POST', '/v1/nothing/here', { 'content-type': 'application/json', 'content-length': 100 }) + '{'));
        socket.on('data', () => {});
        socket.on('error', reject);
        socket.on('close', () => resolve(Date.now() - started));
      });
      assert.ok(closedAfter < 2500, `closed after ${closedAfter} ms`);
      // Trickled: one byte every 100 ms never completes in time either (chunked, no length).
      const trickle = await rawRequest(
        url,
        (socket) => {
          socket.write(head('POST', '/v1/run', { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }));
          const t = setInterval(() => (socket.writable ? socket.write('1\r\n \r\n') : clearInterval(t)), 100);
          socket.once('close', () => clearInterval(t));
        },
        { timeoutMs: 3000 },
      );
      assertError({ status: trickle.status, body: trickle.json }, 408, 'request_timeout');
      assert.equal((await fetch(`${url}/health`)).status, 200);
      assert.deepEqual(await snapshot(), before);
    });

    it('invalid UTF-8 and lone surrogates are 400; paired surrogates are fine', async () => {
      const before = await snapshot();
      const bad = Buffer.concat([Buffer.from('{"prompt":"a'), Buffer.from([0xff, 0xfe, 0xc0, 0xaf]), Buffer.from('"}')]);
      const send = (path: string, body: Buffer | string, method = 'POST') => fetch(`${url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : new Uint8Array(body) });
      for (const [method, path] of [
        ['POST', '/v1/run'],
        ['POST', '/v1/runs'],
        ['PATCH', '/v1/threads/x/metadata'],
        ['POST', '/v1/ag-ui/agents/assistant/runs'],
        ['POST', '/v1/ai-sdk/agents/assistant/runs'],
      ]) {
        const res = await send(path, bad, method);
        assertError({ status: res.status, body: await res.json() }, 400, 'bad_request');
      }
      const rpc = await send('/v1/a2a', Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"x":"'), Buffer.from([0xc3]), Buffer.from('"}}')]));
      assertRpcError({ status: rpc.status, body: await rpc.json() });
      const trpc = await send('/trpc/threads.delete', Buffer.concat([Buffer.from('{"id":"'), Buffer.from([0xe2, 0x28, 0xa1]), Buffer.from('"}')]));
      assertTrpcError({ status: trpc.status, body: await trpc.json() }, 400, 'bad_request');

      const lone = await call(`${url}/v1/run`, 'POST', '{"prompt":"hi \\ud800 there"}');
      assertError(lone, 400, 'bad_request');
      assert.deepEqual(lone.body.issues, [{ path: ['prompt'], message: 'unpaired UTF-16 surrogate' }]);
      assertError(await call(`${url}/v1/runs`, 'POST', '{"prompt":"\\udc00"}'), 400, 'bad_request');
      assertError(await call(`${url}/v1/ag-ui/agents/assistant/runs`, 'POST', JSON.stringify(agUi()).replace('"hi"', '"\\ud83d"')), 400, 'bad_request');
      assertError(await call(`${url}/v1/threads/x/metadata`, 'PATCH', '{"metadata":{"\\ud800":1}}'), 400, 'bad_request');
      assertTrpcError(await call(`${url}/trpc/run`, 'POST', '{"prompt":"\\ud800"}'), 400, 'bad_request');
      assertRpcError(await call(`${url}/v1/a2a`, 'POST', JSON.stringify(a2a({})).replace('"hi"', '"\\udfff"')));
      assert.equal(fake.requests.length, 0, 'nothing reached the model');
      assert.deepEqual(await snapshot(), before);

      fake.enqueue({ content: [{ type: 'text', text: 'ok' }] });
      const paired = await call(`${url}/v1/run`, 'POST', '{"prompt":"smile \\ud83d\\ude00","session_id":"h-utf"}');
      assert.equal(paired.status, 200, JSON.stringify(paired.body));
      assert.equal(fake.requests.length, 1);
      assert.match(JSON.stringify(fake.requests[0].body.messages), /smile \u{1F600}/u);
    });

    it('one id grammar everywhere: "." and ".." and characters outside [A-Za-z0-9._:-] are refused', async () => {
      fake.reset();
      const before = await snapshot();
      for (const id of ['.', '..', 'a@b', 'a/b', 'x'.repeat(201), '', 'a b', 'ü']) {
        assertError(await call(`${url}/v1/run`, 'POST', { prompt: 'x', session_id: id }), 400, 'bad_request');
        assertError(await call(`${url}/v1/runs`, 'POST', { prompt: 'x', thread_id: id }), 400, 'bad_request');
        assertError(await call(`${url}/v1/ag-ui/agents/assistant/runs`, 'POST', agUi({ threadId: id })), 400, 'bad_request');
        assertError(await call(`${url}/v1/ag-ui/agents/assistant/runs`, 'POST', agUi({ runId: id })), 400, 'bad_request');
        assertError(await call(`${url}/v1/ai-sdk/agents/assistant/runs`, 'POST', aiSdk({ id })), 400, 'bad_request');
        assertTrpcError(await call(`${url}/trpc/run`, 'POST', { prompt: 'x', session_id: id }), 400, 'bad_request');
        if (id) assertRpcError(await call(`${url}/v1/a2a`, 'POST', a2a({ contextId: id })));
      }
      // In a path: the ids the REST routes could not address are refused, not looked up.
      for (const seg of ['a@b', '%2e%2e', '.%2e']) {
        const res = await call(`${url}/v1/threads/${seg}`, 'GET');
        assert.ok(res.status === 400 || res.status === 404, `${seg}: ${res.status}`);
        assertError(res, res.status, res.status === 400 ? 'bad_request' : 'not_found');
      }
      assert.equal(fake.requests.length, 0, 'nothing reached the model');
      assert.deepEqual(await snapshot(), before);
    });

    it('/docs has security headers; JSON is nosniff too', async () => {
      const res = await fetch(`${url}/docs/`);
      assert.equal(res.status, 200);
      const csp = res.headers.get('content-security-policy') ?? '';
      assert.match(csp, /default-src 'self'/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.match(csp, /script-src 'self'(;|$)/);
      assert.doesNotMatch(csp, /upgrade-insecure-requests/);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('x-frame-options'), 'DENY');
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
      const asset = await fetch(`${url}/docs/swagger-ui.css`);
      assert.equal(asset.status, 200);
      assert.equal(asset.headers.get('x-content-type-options'), 'nosniff');
      await asset.arrayBuffer();
    });
  });
}

describe('hardening: the JSON checks themselves', () => {
  it('depth scan counts brackets outside strings only, without recursion', () => {
    assert.equal(jsonDepthExceeds('[[]]', 2), false);
    assert.equal(jsonDepthExceeds('[[[]]]', 2), true);
    assert.equal(jsonDepthExceeds('{"a":{"b":[1]}}', 3), false);
    assert.equal(jsonDepthExceeds('{"a":{"b":[{}]}}', 3), true);
    assert.equal(jsonDepthExceeds(`["${'['.repeat(1000)}"]`, 1), false, 'brackets inside a string');
    assert.equal(jsonDepthExceeds(`["\\"${'{'.repeat(100)}"]`, 1), false, 'escaped quote does not end the string');
    assert.equal(jsonDepthExceeds(`["\\\\", [[]]]`, 2), true, 'an escaped backslash does end it');
    assert.equal(jsonDepthExceeds('['.repeat(1_000_000), 64), true);
  });

  it('lone surrogates are found in values and keys, pairs are not', () => {
    assert.equal(loneSurrogatePath({ a: ['ok', '\u{1F600}'] }), undefined);
    assert.deepEqual(loneSurrogatePath({ a: ['ok', 'x\ud800'] }), ['a', 1]);
    assert.deepEqual(loneSurrogatePath({ a: { '\udc00': 1 } }), ['a', '\udc00']);
  });
});
