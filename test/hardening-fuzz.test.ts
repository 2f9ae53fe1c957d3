/**
 * A bounded, seeded fuzz of every route: generated bad requests (bad/deep JSON, wrong types,
 * huge strings, odd paths and percent-encodings, odd headers, unknown fields) must each get a
 * < 500 answer in the route's error envelope within 5 s, and change nothing that is stored.
 * FUZZ_SEED=n replays another sequence; FUZZ_COUNT=n sets how many requests.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ErrorBody } from '../contracts/common.js';
import { appRouter } from '../src/trpc/router.js';
import { startFakeAnthropic, type FakeAnthropic } from './fixtures/fake-anthropic.js';
import { dialects } from './helpers/databases.js';
import { rawRequest } from './helpers/raw-http.js';
import { startTestServer, type TestServer } from './helpers/server.js';

process.env.AGENTSDK_BODY_TIMEOUT_MS = '1000';

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_201);
const COUNT = Number(process.env.FUZZ_COUNT ?? 3000);
const HANG_MS = 5000;

/** mulberry32: small, fast, and the same sequence for the same seed. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const chance = (p: number) => next() < p;
  return { next, int, pick, chance };
}
type Rng = ReturnType<typeof rng>;

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** Which error envelope the answer must be in. */
  surface: 'json' | 'trpc' | 'a2a';
  /** A 2xx is fine (a read of something that exists, e.g. GET /v1/agents). */
  mayPass: boolean;
  what: string;
}

// ——— what to send ———

/** Ids that exist nowhere (so a DELETE or PATCH that gets through still changes nothing) or are malformed. */
const PATH_IDS = ['fz-none', 'fz:none.1', '..', '.', '%2e%2e', '%zz', '%FF', '%C0%AF', '%', '%E0%A4%A', 'a@b', '%20', 'x'.repeat(300), '%F0%9F%98%80', '%00', 'a%2Fb', '%uD800', '%ED%A0%80'];
const BAD_IDS: unknown[] = ['..', '.', '', ' ', 'a b', 'a/b', 'a@b', 'ü', 'x'.repeat(201), '\u0000', '%zz', 5, null, true, [], {}, ['a']];
const WRONG_TYPES: unknown[] = [5, -1, 1.5, 1e308, '', 'text', null, true, false, [], [1, 'a'], {}, { a: 1 }];
const CONTENT_TYPES = ['application/json', 'application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', 'application/vnd.api+json', '', 'application/octet-stream', 'json', 'APPLICATION/JSON'];
const ODD_HEADERS: Array<[string, string]> = [
  ['last-event-id', 'abc'],
  ['last-event-id', '-1'],
  ['last-event-id', '99999999999999999999'],
  ['a2a-version', '9.9'],
  ['a2a-version', '1.0'],
  ['accept', 'text/event-stream'],
  ['accept', '*/*;q=abc'],
  ['x-forwarded-for', 'not an ip'],
  ['x-forwarded-proto', 'gopher'],
  ['origin', 'null'],
  ['content-encoding', 'gzip'],
  ['content-encoding', 'br'],
  ['transfer-encoding', 'chunked'],
  ['x-big', 'v'.repeat(8000)],
  ['if-none-match', '"x"'],
  ['range', 'bytes=0-1'],
  ['trpc-accept', 'application/jsonl'],
  ['expect', '100-continue'],
];

function deepJson(r: Rng): string {
  const n = r.pick([65, 100, 1000, 5000, 10_000, 50_000]);
  return r.chance(0.5) ? '['.repeat(n) + ']'.repeat(n) : '{"a":'.repeat(n) + '1' + '}'.repeat(n);
}

function hugeString(r: Rng): string {
  return r.pick(['a', 'é', '😀', '\\n', '"']).repeat(r.pick([10_000, 70_000, 300_000, 1_100_000]) / (r.chance(0.5) ? 1 : 4));
}

/** A JSON text for a value that may carry markers for deep JSON and lone surrogates. */
function render(value: unknown, r: Rng): string {
  let text = JSON.stringify(value);
  text = text.replace(/"__DEEP__"/g, () => deepJson(r)).replace(/__LONE__/g, () => r.pick(['\\ud800', '\\udfff', 'a\\udbff', '\\ude00b']));
  return text;
}

/** Breaks a valid body for sure (a run must never start) and maybe adds noise on top. */
function breakBody(template: Record<string, unknown>, spec: { required: string[]; ids: string[]; strings: string[] }, r: Rng): Record<string, unknown> | unknown {
  const body: Record<string, unknown> = structuredClone(template);
  const breaker = r.int(8);
  const field = r.pick(spec.required);
  if (breaker === 0) delete body[field];
  else if (breaker === 1) body[field] = r.pick(WRONG_TYPES.filter((v) => typeof v !== typeof template[field] || v === null || Array.isArray(v)));
  else if (breaker === 2 && spec.ids.length) body[r.pick(spec.ids)] = r.pick(BAD_IDS);
  else if (breaker === 3) body[field] = '__DEEP__';
  else if (breaker === 4 && spec.strings.length) body[r.pick(spec.strings)] = `x __LONE__ y`;
  else if (breaker === 5) return r.pick(WRONG_TYPES.filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)));
  else if (breaker === 6 && spec.strings.length) body[r.pick(spec.strings)] = '   ';
  else body[field] = r.pick([null, [], {}, 0]);
  // Noise that a valid body may also carry.
  if (r.chance(0.3)) body[r.pick(['extra', '__proto__', 'constructor', 'x'.repeat(300), '', 'é'])] = r.pick([1, 'x', null, {}, '__DEEP__']);
  if (r.chance(0.1)) body.padding = hugeString(r);
  return body;
}

interface Route {
  method: string;
  path: string;
  surface: FuzzRequest['surface'];
  /** A valid body to mutate (run-starting routes: always broken before sending). */
  template?: Record<string, unknown>;
  spec?: { required: string[]; ids: string[]; strings: string[] };
}

const agUiTemplate = { threadId: 'fz-thread', runId: 'fz-run', messages: [{ id: 'm1', role: 'user', content: 'hi' }], state: {}, tools: [], context: [] };
const aiSdkTemplate = { id: 'fz-chat', messages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: 'hi' }] }], trigger: 'submit-message' };
const runTemplate = { prompt: 'hi', session_id: 'fz-session', agent_id: 'assistant', timeout_ms: 1000 };
const startTemplate = { prompt: 'hi', thread_id: 'fz-thread', agent_id: 'assistant' };
const RUN_SPEC = { required: ['prompt'], ids: ['session_id', 'agent_id'], strings: ['prompt'] };

function routes(): Route[] {
  const doc = JSON.parse(readFileSync(new URL('../openapi/openapi.json', import.meta.url), 'utf8')) as { paths: Record<string, Record<string, unknown>> };
  const out: Route[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const method of Object.keys(ops)) {
      const m = method.toUpperCase();
      const route: Route = { method: m, path, surface: path.startsWith('/v1/a2a') && m === 'POST' ? 'a2a' : 'json' };
      if (path === '/v1/run' || path === '/v1/run/stream') Object.assign(route, { template: runTemplate, spec: RUN_SPEC });
      else if (path === '/v1/runs' && m === 'POST') Object.assign(route, { template: startTemplate, spec: { ...RUN_SPEC, ids: ['thread_id', 'agent_id'] } });
      else if (path.startsWith('/v1/ag-ui/') && m === 'POST') Object.assign(route, { template: agUiTemplate, spec: { required: ['threadId', 'runId', 'messages'], ids: ['threadId', 'runId'], strings: [] } });
      else if (path.startsWith('/v1/ai-sdk/') && m === 'POST') Object.assign(route, { template: aiSdkTemplate, spec: { required: ['id', 'messages'], ids: ['id'], strings: [] } });
      else if (path.endsWith('/metadata')) Object.assign(route, { template: { title: 't', metadata: { a: 1 } }, spec: { required: ['title'], ids: [], strings: ['title'] } });
      else if (path.endsWith('/inputs')) Object.assign(route, { template: { approvals: [{ approval_id: 'a1', approved: true }] }, spec: { required: ['approvals'], ids: [], strings: [] } });
      else if (path.endsWith('/cancel')) Object.assign(route, { template: {}, spec: { required: ['force'], ids: [], strings: [] } });
      out.push(route);
    }
  }
  // Hand-mounted surfaces the document lists only in part.
  for (const [name, proc] of Object.entries((appRouter as unknown as { _def: { procedures: Record<string, { _def: { type: string } }> } })._def.procedures)) {
    out.push({ method: proc._def.type === 'mutation' ? 'POST' : 'GET', path: `/trpc/${name}`, surface: 'trpc' });
  }
  out.push({ method: 'POST', path: '/trpc/threads.delete,threads.updateMetadata', surface: 'trpc' });
  out.push({ method: 'GET', path: '/v1/nothing/here', surface: 'json' });
  return out;
}

const TRPC_INPUTS: unknown[] = [{ id: 'fz-none' }, { id: '..' }, { prompt: '   ' }, { prompt: 5 }, { limit: 999 }, { cursor: 'garbage' }, { id: 'fz-none', title: 5 }, { id: 'fz-none', lastEventId: 'x' }, '__DEEP__', 5, null, [], 'x __LONE__'];
const A2A_METHODS = ['message/send', 'message/stream', 'tasks/get', 'tasks/cancel', 'tasks/resubscribe', 'SendMessage', 'SendStreamingMessage', 'GetTask', 'CancelTask', 'SubscribeToTask', 'ListTasks', 'tasks/pushNotificationConfig/set', 'nope', '', 5];

function a2aBody(r: Rng): unknown {
  const message = { messageId: 'fz-m', role: 'user', kind: 'message', parts: [{ kind: 'text', text: 'hi' }], contextId: 'fz-ctx' };
  const m: Record<string, unknown> = structuredClone(message);
  // Always broken: a message with a bad id, role, parts or a task that does not exist.
  const breaker = r.int(7);
  if (breaker === 0) m.messageId = r.pick(BAD_IDS);
  else if (breaker === 1) m.contextId = r.pick(BAD_IDS.filter((v) => v !== ''));
  else if (breaker === 2) m.role = r.pick(['agent', 'ROLE_AGENT', 5, null, 'x']);
  else if (breaker === 3) m.parts = r.pick([[], 5, null, [{ kind: 'data', data: '__DEEP__' }], [{ kind: 'nope' }], [{ kind: 'text', text: 5 }]]);
  else if (breaker === 4) m.parts = [{ kind: 'text', text: 'x __LONE__' }];
  else if (breaker === 5) m.taskId = 'fz-no-task';
  else m.messageId = r.pick([5, null, {}]);
  const params = r.pick<unknown>([{ message: m }, { id: 'fz-no-task' }, { id: r.pick(BAD_IDS) }, {}, null, 5, [], { message: m, configuration: { blocking: 'x' } }, { message: m, metadata: '__DEEP__' }]);
  const body: Record<string, unknown> = { jsonrpc: r.pick(['2.0', '2.0', '2.0', '1.0', 2, undefined]), id: r.pick([1, 'a', null, undefined, {}, 1.5]), method: r.pick(A2A_METHODS), params };
  if (r.chance(0.2)) body.extra = { a: 1 };
  return r.chance(0.1) ? [body, body] : body;
}

function fillPath(path: string, r: Rng): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => (name === 'agentId' && r.chance(0.5) ? 'assistant' : r.pick(PATH_IDS)));
}

function query(r: Rng): string {
  if (r.chance(0.6)) return '';
  return `?${r.pick(['limit=abc', 'limit=0', 'limit=1e9', 'limit=-1', 'cursor=%%%', 'cursor=garbage', 'after=-1', 'after=abc', 'order=sideways', 'status=sleeping', 'created_after=yesterday', 'unknown=1', 'input=%zz', `input=${'%5B'.repeat(3000)}`, 'input={"id":', 'batch=1&input={"0":5}', `x=${'y'.repeat(5000)}`, 'a=1&a=2&a[b]=3', '%zz=1', 'limit=%FF'])}`;
}

function generate(r: Rng, all: Route[], i: number): FuzzRequest {
  const route = r.pick(all);
  const method = r.chance(0.08) ? r.pick(['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'POST', 'GET']) : route.method;
  let path = route.surface === 'trpc' ? route.path : fillPath(route.path, r);
  if (r.chance(0.05)) path = path.replace(/\/[^/]*$/, `/${r.pick(['%zz', '..', '%2e%2e', '.', 'x'.repeat(2000), '%C0%AF'])}`);
  if (r.chance(0.03)) path = `${path}/`;
  if (r.chance(0.03)) path = path.toUpperCase();
  const headers: Record<string, string> = {};
  const ct = r.pick(CONTENT_TYPES);
  if (ct) headers['content-type'] = ct;
  if (r.chance(0.15)) {
    const [k, v] = r.pick(ODD_HEADERS);
    headers[k] = v;
  }
  let body: string | Buffer | undefined;
  const kind = r.int(10);
  if (route.surface === 'a2a') body = render(a2aBody(r), r);
  else if (route.surface === 'trpc') {
    const input = r.pick(TRPC_INPUTS);
    if (method === 'GET') path += `?input=${encodeURIComponent(render(input, r)).slice(0, 12_000)}`;
    else body = render(r.chance(0.3) ? { 0: input, 1: input } : input, r);
  } else if (route.template && route.spec) body = render(breakBody(route.template, route.spec, r), r);
  // POST /v1/auth/stream-token takes no body or `{}`, so `{}` there is not broken.
  else if (method !== 'GET' && method !== 'DELETE') body = render(r.pick(route.path === '/v1/auth/stream-token' ? WRONG_TYPES.filter((v) => JSON.stringify(v) !== '{}') : WRONG_TYPES), r);
  if (route.surface !== 'trpc') path += query(r);
  // Whatever the route, sometimes the bytes themselves are bad.
  if (kind === 0 && body !== undefined) body = String(body).slice(0, Math.max(1, r.int(String(body).length)));
  else if (kind === 1) body = r.pick(['{', '}{', '{"a":', 'nul', '{"a":1}{"b":2}', '[1,]', "{'a':1}", '\u0000', '{"a":"\\x"}', '']);
  else if (kind === 2 && body !== undefined) body = Buffer.concat([Buffer.from(String(body).slice(0, -2)), Buffer.from([r.pick([0xff, 0xc0, 0xe2, 0x80])]), Buffer.from(String(body).slice(-2))]);
  else if (kind === 3) body = deepJson(r);
  const buf = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body);
  // A body on a GET is passed on as it is; HEAD is left out (no body to check).
  return {
    method,
    path,
    headers,
    body: buf,
    // As the server tells them apart: POSTs under /v1/a2a are JSON-RPC, whatever the route.
    surface: route.surface === 'trpc' ? 'trpc' : method === 'POST' && /^\/v1\/a2a(\/|$|\?)/i.test(path) ? 'a2a' : 'json',
    // Reads may succeed (GET /v1/agents, a GET on a POST route's path that lists…): nothing is written.
    mayPass: route.surface !== 'a2a' && (method === 'GET' || method === 'OPTIONS'),
    what: `#${i} ${method} ${path.slice(0, 120)} ct=${ct || '-'} body=${buf ? `${buf.length}B ${JSON.stringify(buf.subarray(0, 80).toString('latin1'))}` : 'none'}`,
  };
}

// ——— sending and checking ———

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

function send(base: URL, req: FuzzRequest): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string; ms: number }> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...req.headers };
    if (req.body && headers['transfer-encoding'] === undefined) headers['content-length'] = req.body.length;
    const r = http.request({ host: base.hostname, port: base.port, method: req.method, path: req.path, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const sse = /event-stream/.test(String(res.headers['content-type']));
      // A stream is read for a while (tRPC reports subscription errors in it), then dropped.
      const stop = sse ? setTimeout(() => res.destroy(), 1500) : undefined;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size < 1 << 20) chunks.push(c);
        if (sse && (size > 64 * 1024 || /event: serialized-error/.test(Buffer.concat(chunks).toString('utf8')))) res.destroy();
      });
      res.on('close', () => clearTimeout(stop));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8'), ms: Date.now() - start }));
      res.on('close', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8'), ms: Date.now() - start }));
      res.on('error', () => {});
    });
    r.setTimeout(HANG_MS, () => {
      r.destroy(new Error(`no answer within ${HANG_MS} ms`));
    });
    r.on('error', reject);
    if (req.body) r.end(req.body);
    else r.end();
  });
}

/** Why the answer is wrong, or undefined. */
function check(req: FuzzRequest, res: { status: number; headers: http.IncomingHttpHeaders; text: string; ms: number }): string | undefined {
  if (res.status >= 500) return `status ${res.status}: ${res.text.slice(0, 300)}`;
  if (res.ms > HANG_MS) return `took ${res.ms} ms`;
  if (res.status < 400) {
    if (req.surface === 'a2a') {
      let body: any;
      try {
        // Streaming methods (message/stream, tasks/resubscribe) send their JSON-RPC error as an SSE frame.
        const frame = /event-stream/.test(String(res.headers['content-type'])) ? /^data: (.*)$/m.exec(res.text)?.[1] : undefined;
        body = JSON.parse(frame ?? res.text);
      } catch {
        return `A2A ${res.status} not JSON: ${res.text.slice(0, 200)}`;
      }
      const replies = Array.isArray(body) ? body : [body];
      const read = /"method":"(ListTasks|GetTask|tasks\/get|tasks\/list)"/.test(req.body?.toString('latin1') ?? '');
      for (const b of replies) {
        // A read may succeed (it lists what exists); anything else must be a JSON-RPC error.
        if (read && b?.jsonrpc === '2.0' && 'result' in b) continue;
        if (b?.jsonrpc !== '2.0' || typeof b?.error?.code !== 'number' || typeof b.error.message !== 'string' || 'result' in b) return `A2A answer is not a JSON-RPC error: ${res.text.slice(0, 300)}`;
      }
      return undefined;
    }
    if (req.mayPass || req.method === 'OPTIONS') return undefined;
    // tRPC subscriptions answer 200 and send their error in the stream.
    if (req.surface === 'trpc' && /event-stream/.test(String(res.headers['content-type']))) {
      const m = /event: serialized-error\ndata: (.*)\n/.exec(res.text);
      if (!m) return `tRPC stream without an error: ${res.text.slice(0, 200)}`;
      const { httpStatus: _s, path: _p, ...rest } = JSON.parse(m[1]).data ?? {};
      return ErrorBody.strict().safeParse(rest).success ? undefined : `tRPC stream error not the error body: ${m[1].slice(0, 200)}`;
    }
    return `a broken request was accepted (${res.status}): ${res.text.slice(0, 200)}`;
  }
  if (req.method === 'HEAD') return undefined;
  if (!/^application\/json/.test(String(res.headers['content-type']))) return `content-type ${res.headers['content-type']}: ${res.text.slice(0, 200)}`;
  let body: any;
  try {
    body = JSON.parse(res.text);
  } catch {
    return `not JSON: ${res.text.slice(0, 200)}`;
  }
  if (req.surface === 'trpc') {
    const items = Array.isArray(body) ? body : [body];
    for (const item of items) {
      // What answers before tRPC does (guards, authentication) may use the plain error body.
      if (ErrorBody.strict().safeParse(item).success) continue;
      const data = item?.error?.data;
      if (!data) return `tRPC answer without error.data: ${res.text.slice(0, 200)}`;
      const { httpStatus: _s, path: _p, ...rest } = data;
      if (!ErrorBody.strict().safeParse(rest).success) return `tRPC error.data not the error body: ${JSON.stringify(data).slice(0, 200)}`;
    }
    return undefined;
  }
  if (req.surface === 'a2a' && body?.jsonrpc === '2.0' && typeof body?.error?.code === 'number') return undefined;
  if (!ErrorBody.strict().safeParse(body).success) return `not the error body: ${res.text.slice(0, 200)}`;
  return undefined;
}

/** Requests only a raw socket can send. */
const RAW: string[] = [
  'GARBAGE\r\n\r\n',
  'GET /health HTTP/1.1\r\nhost: x\r\nbad header\r\n\r\n',
  `GET /${'a'.repeat(20_000)} HTTP/1.1\r\nhost: x\r\n\r\n`,
  `GET /health HTTP/1.1\r\nhost: x\r\nx-big: ${'b'.repeat(20_000)}\r\n\r\n`,
  'POST /v1/run HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\nhello',
  'POST /v1/run HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
  'POST /v1/run HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 99999999999\r\n\r\n{',
  'POST /trpc/run HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 99999999999\r\n\r\n{',
  'POST /v1/a2a HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 99999999999\r\n\r\n{',
  'POST /v1/run HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 50\r\n\r\n{"prompt":',
  'POST /trpc/run HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 50\r\n\r\n{"prompt":',
  'POST /v1/a2a HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 50\r\n\r\n{"jsonrpc":',
  'GET /v1/runs/%zz/events HTTP/1.1\r\nhost: x\r\n\r\n',
  'GET /v1/threads/../../etc/passwd HTTP/1.1\r\nhost: x\r\n\r\n',
  'GET http://evil.example/v1/threads HTTP/1.1\r\nhost: x\r\n\r\n',
  'GET * HTTP/1.1\r\nhost: x\r\n\r\n',
  'GET /v1/threads HTTP/1.0\r\n\r\n',
  'BREW /health HTTP/1.1\r\nhost: x\r\n\r\n',
  'GET /health\u0000 HTTP/1.1\r\nhost: x\r\n\r\n',
];

for (const dialect of dialects()) {
  describe(`hardening: fuzz every route [${dialect}]`, () => {
    let fake: FakeAnthropic;
    let server: TestServer;
    const counts = async () => {
      const db = server.store.db.kysely;
      const n = async (t: 'threads' | 'messages' | 'runs' | 'run_events') => Number((await db.selectFrom(t).select(db.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
      return { threads: await n('threads'), messages: await n('messages'), runs: await n('runs'), run_events: await n('run_events') };
    };

    before(async () => {
      fake = await startFakeAnthropic();
      server = await startTestServer({ modelUrl: fake.url, dialect });
      // Something stored, so "unchanged" means something.
      const res = await fetch(`${server.url}/v1/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'seed', session_id: 'fuzz-kept' }) });
      assert.equal(res.status, 200);
      fake.reset();
    });
    after(async () => {
      agent.destroy();
      await server.stop();
      await fake.close();
    });

    it(`${COUNT} generated requests (seed ${SEED}): < 500, the error envelope, no hang, nothing stored`, { timeout: 60_000 }, async () => {
      const before = await counts();
      const r = rng(SEED);
      const all = routes();
      const base = new URL(server.url);
      const failures: string[] = [];
      const requests = Array.from({ length: COUNT }, (_, i) => generate(r, all, i));
      let next = 0;
      const worker = async () => {
        while (next < requests.length) {
          const req = requests[next++];
          try {
            const problem = check(req, await send(base, req));
            if (problem) failures.push(`${req.what}\n    → ${problem}`);
          } catch (err) {
            failures.push(`${req.what}\n    → ${(err as Error).message}`);
          }
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      for (const raw of RAW) {
        try {
          const res = await rawRequest(server.url, raw, { timeoutMs: HANG_MS });
          const j = res.json;
          const errorShaped =
            j !== undefined &&
            (ErrorBody.strict().safeParse(j).success || (j.jsonrpc === '2.0' && typeof j.error?.code === 'number') || ErrorBody.safeParse(j.error?.data).success);
          if (res.status >= 500 || (res.status >= 400 && !errorShaped)) failures.push(`raw ${JSON.stringify(raw.slice(0, 80))}\n    → ${res.status} ${res.text.slice(0, 200)}`);
        } catch (err) {
          failures.push(`raw ${JSON.stringify(raw.slice(0, 80))}\n    → ${(err as Error).message}`);
        }
      }
      assert.equal((await fetch(`${server.url}/health`)).status, 200, '/health still answers');
      assert.deepEqual(await counts(), before, 'stored data unchanged');
      assert.equal(fake.requests.length, 0, 'no request reached the model');
      assert.deepEqual(failures.slice(0, 25), [], `${failures.length} bad answers`);
    });
  });
}
