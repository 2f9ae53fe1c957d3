import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { createLogger } from '../src/logger.js';
import { postJson, postSse, waitFor } from './helpers/http.js';
import { parseMetrics, total } from './helpers/prometheus.js';
import { startOtlpReceiver, type OtlpSpan } from './helpers/otlp.js';
import { useServer } from './helpers/setup.js';

// Spans are exported in batches: a short delay keeps the test quick. The exporter reads its headers
// from the process's environment, as OpenTelemetry's exporters do.
process.env.OTEL_BSP_SCHEDULE_DELAY = '50';
process.env.OTEL_EXPORTER_OTLP_HEADERS = 'x-collector-key=k-123';

const receiver = await startOtlpReceiver();
after(() => receiver.close());
const logLines: any[] = [];
const logStream = new Writable({
  write(chunk, _enc, cb) {
    for (const line of String(chunk).split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
    cb();
  },
});

// Both encodings, decoded by the receiver into the same spans: JSON through the OpenTelemetry
// exporter, protobuf (the default) through the server's own encoder.
for (const protocol of ['http/json', 'http/protobuf'] as const) describe(`traces (OTLP/HTTP, ${protocol})`, () => {
  const app = useServer({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: protocol, AGENTSDK_SSE_PING_MS: '50' }, logger: createLogger('debug', logStream) });
  const contentType = protocol === 'http/json' ? 'application/json' : 'application/x-protobuf';

  it('exports invoke_agent > chat / execute_tool under the HTTP span, honours traceparent, stores trace_id', async () => {
    const traceId = randomBytes(16).toString('hex');
    const parentId = randomBytes(8).toString('hex');
    app.fake.enqueue(
      { content: [{ type: 'text', text: 'Checking.' }, { type: 'tool_use', id: 'toolu_tr1', name: 'current_time', input: { timezone: 'UTC' } }], usage: { input_tokens: 20, output_tokens: 7, cache_read_input_tokens: 4, cache_creation_input_tokens: 1 } },
      { content: [{ type: 'text', text: 'It is noon.' }], usage: { input_tokens: 30, output_tokens: 4 } },
    );
    const before = BigInt(Date.now() - 1) * 1_000_000n;
    const res = await fetch(`${app.url}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${parentId}-01` }, body: JSON.stringify({ prompt: 'time?' }) });
    assert.equal(res.status, 200);
    const text = await res.text();
    const after = BigInt(Date.now() + 1) * 1_000_000n;
    const runId = JSON.parse(/data: (.*)/.exec(text)![1]).run_id as string;

    const spans = await waitFor(() => {
      const mine = receiver.spans.filter((s) => s.traceId === traceId);
      return mine.some((s) => s.name.startsWith('POST')) && mine.filter((s) => s.name.startsWith('chat ')).length === 2 && mine.some((s) => s.name.startsWith('invoke_agent')) && mine;
    });
    const byName = (prefix: string) => spans.filter((s) => s.name.startsWith(prefix));
    const [server] = byName('POST ');
    assert.equal(server.name, 'POST /v1/runs');
    assert.equal(server.kind, 2, 'SERVER');
    assert.equal(server.parentSpanId, parentId, 'the incoming traceparent is the parent');
    assert.equal(server.flags, 0x301, 'sampled, with a remote parent');
    assert.equal(server.attributes['http.route'], '/v1/runs');
    assert.equal(server.attributes['http.response.status_code'], 200);

    const [agent] = byName('invoke_agent');
    assert.equal(agent.name, 'invoke_agent assistant');
    assert.equal(agent.parentSpanId, server.spanId);
    assert.equal(agent.flags, 0x101, 'sampled, with a local parent');
    const runRow = await app.server.store.runs.get(runId);
    assert.deepEqual(
      { op: agent.attributes['gen_ai.operation.name'], agent: agent.attributes['gen_ai.agent.id'], conv: agent.attributes['gen_ai.conversation.id'], provider: agent.attributes['gen_ai.provider.name'] },
      { op: 'invoke_agent', agent: 'assistant', conv: runRow!.thread_id, provider: 'anthropic' },
    );
    assert.equal(agent.attributes['agentsdk.run.status'], 'completed');

    const chats = byName('chat ');
    for (const c of chats) {
      assert.equal(c.parentSpanId, agent.spanId);
      assert.equal(c.kind, 3, 'CLIENT');
      assert.equal(c.attributes['gen_ai.operation.name'], 'chat');
      assert.equal(c.name, `chat ${c.attributes['gen_ai.request.model']}`);
      assert.match(String(c.attributes['gen_ai.response.id']), /^msg_/);
      assert.equal(typeof c.attributes['gen_ai.response.time_to_first_chunk'], 'number');
      assert.equal(c.attributes['gen_ai.input.messages'], undefined, 'no contents unless asked');
    }
    const first = chats.find((c) => c.attributes['gen_ai.usage.input_tokens'] === 20)!;
    assert.ok(first, 'usage of the first call');
    assert.deepEqual(first.attributes['gen_ai.response.finish_reasons'], ['tool_use']);
    assert.equal(first.attributes['gen_ai.usage.output_tokens'], 7);
    assert.equal(first.attributes['gen_ai.usage.cache_read.input_tokens'], 4);
    assert.equal(first.attributes['gen_ai.usage.cache_creation.input_tokens'], 1);
    assert.ok(chats.some((c) => JSON.stringify(c.attributes['gen_ai.response.finish_reasons']) === '["end_turn"]'));

    // Times: epoch nanoseconds within the request, each span ending after it starts, the calls inside their run.
    const times = (sp: OtlpSpan) => [BigInt(sp.startTimeUnixNano!), BigInt(sp.endTimeUnixNano!)] as const;
    for (const sp of spans) {
      const [start, end] = times(sp);
      assert.ok(before <= start && start <= end && end <= after, `${sp.name}: ${start}..${end} within ${before}..${after}`);
    }
    for (const c of [...chats, ...byName('execute_tool')]) assert.ok(times(agent)[0] <= times(c)[0] && times(c)[1] <= times(agent)[1], `${c.name} inside its run`);

    const [tool] = byName('execute_tool');
    assert.equal(tool.name, 'execute_tool current_time');
    assert.equal(tool.parentSpanId, agent.spanId);
    assert.equal(tool.attributes['gen_ai.tool.name'], 'current_time');
    assert.equal(tool.attributes['gen_ai.tool.call.id'], 'toolu_tr1');
    assert.equal(tool.attributes['gen_ai.tool.call.arguments'], undefined);

    // The run carries its trace id; its log lines too.
    const run = await (await fetch(`${app.url}/v1/runs/${runId}`)).json();
    assert.equal(run.trace_id, traceId);
    const runLogs = logLines.filter((l) => l.runId === runId);
    assert.ok(runLogs.length >= 1, 'the run logged');
    for (const l of runLogs) assert.equal(l.trace_id, traceId, JSON.stringify(l));
    for (const sp of spans) {
      assert.ok(sp.contentType.startsWith(contentType), sp.contentType);
      assert.equal(sp.resource['service.name'], 'agent-server');
      assert.equal(sp.resource['telemetry.sdk.language'], 'nodejs');
    }
  });

  it('starts a new trace without traceparent; trace_id is the request span’s', async () => {
    const res = await postJson(`${app.url}/v1/run`, { prompt: 'hi' });
    assert.equal(res.status, 200);
    const run = await (await fetch(`${app.url}/v1/runs/${res.body.run_id}`)).json();
    assert.match(run.trace_id, /^[0-9a-f]{32}$/);
    const spans = await waitFor(() => {
      const mine = receiver.spans.filter((s) => s.traceId === run.trace_id);
      return mine.some((s) => s.name === 'POST /v1/run') && mine.some((s) => s.name === 'invoke_agent assistant') && mine;
    });
    const server = spans.find((s) => s.name === 'POST /v1/run')!;
    assert.equal(server.parentSpanId ?? '', '');
    assert.equal(spans.find((s) => s.name === 'invoke_agent assistant')!.parentSpanId, server.spanId);
  });

  it('counts and traces each request through one hook: its span and its metrics series, the same route and status', async () => {
    const count = async () => total(parseMetrics(await (await fetch(`${app.url}/metrics`)).text()), 'agentsdk_http_requests_total', 'agentsdk_http_requests_total', { method: 'POST', route: '/v1/run', status: '200' });
    const before = await count();
    const res = await postJson(`${app.url}/v1/run`, { prompt: 'hi' });
    assert.equal(res.status, 200);
    const run = await (await fetch(`${app.url}/v1/runs/${res.body.run_id}`)).json();
    const server = await waitFor(() => receiver.spans.find((s) => s.traceId === run.trace_id && s.name === 'POST /v1/run'));
    assert.equal(server.attributes['http.route'], '/v1/run');
    assert.equal(server.attributes['http.response.status_code'], 200);
    assert.equal(await count(), before + 1, 'the response closed once, counted once');
    // An answer that is an error (an unknown run: 404) ends its span with its route and status too.
    const missing = await fetch(`${app.url}/v1/runs/run_nope`);
    assert.equal(missing.status, 404);
    await waitFor(() => receiver.spans.some((s) => s.name === 'GET /v1/runs/{id}' && s.attributes['http.response.status_code'] === 404));
  });

  it('marks a failed model call and run as errors', async () => {
    app.fake.enqueue({ error: { status: 400, type: 'invalid_request_error', message: 'nope' } });
    const res = await postSse(`${app.url}/v1/runs`, { prompt: 'hi' });
    const runId = res.frames[0].json.run_id;
    const run = await waitFor(async () => {
      const r = await (await fetch(`${app.url}/v1/runs/${runId}`)).json();
      return r.status === 'failed' && r;
    });
    const spans = await waitFor(() => {
      const mine = receiver.spans.filter((s) => s.traceId === run.trace_id);
      return mine.some((s) => s.name.startsWith('chat ')) && mine.some((s) => s.name.startsWith('invoke_agent')) && mine;
    });
    const chat = spans.find((s) => s.name.startsWith('chat '))!;
    assert.equal(chat.status?.code, 2, 'ERROR');
    assert.equal(chat.attributes['error.type'], '400');
    const agent = spans.find((s) => s.name.startsWith('invoke_agent'))!;
    assert.equal(agent.status?.code, 2);
    assert.equal(agent.attributes['error.type'], 'failed');
  });
});

// Contents are where non-ASCII and long strings come from: both encodings carry them intact.
for (const protocol of ['http/json', 'http/protobuf'] as const) describe(`traces with message contents (${protocol})`, () => {
  const app = useServer({ env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: protocol, OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true' } });
  it('records input and output messages and tool arguments when asked', async () => {
    const prompt = `contents please, naïve café ✓ ${'long '.repeat(40)}`;
    app.fake.enqueue({ content: [{ type: 'tool_use', id: 'toolu_c1', name: 'current_time', input: { timezone: 'UTC' } }] }, { content: [{ type: 'text', text: 'secret answer: ünïcödé 🙂' }] });
    const res = await postJson(`${app.url}/v1/run`, { prompt });
    const run = await (await fetch(`${app.url}/v1/runs/${res.body.run_id}`)).json();
    const spans = await waitFor(() => {
      const mine = receiver.spans.filter((s) => s.traceId === run.trace_id);
      return mine.filter((s) => s.name.startsWith('chat ')).length === 2 && mine.some((s) => s.name.startsWith('execute_tool')) && mine;
    });
    const chats = spans.filter((s) => s.name.startsWith('chat '));
    assert.ok(chats.every((c) => String(c.attributes['gen_ai.input.messages']).includes(prompt)));
    assert.ok(chats.some((c) => String(c.attributes['gen_ai.output.messages']).includes('secret answer: ünïcödé 🙂')));
    const tool = spans.find((s) => s.name.startsWith('execute_tool'))!;
    assert.equal(tool.attributes['gen_ai.tool.call.arguments'], '{"timezone":"UTC"}');
    assert.match(String(tool.attributes['gen_ai.tool.call.result']), /UTC/);
  });
});

describe('traces in the default encoding (OTLP/HTTP protobuf)', () => {
  const app = useServer({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } });
  it('posts application/x-protobuf carrying the run\'s trace id and its span names, with the configured headers', async () => {
    app.fake.enqueue({ content: [{ type: 'text', text: 'hi' }] });
    const res = await postJson(`${app.url}/v1/run`, { prompt: 'protobuf please' });
    const run = await (await fetch(`${app.url}/v1/runs/${res.body.run_id}`)).json();
    assert.match(run.trace_id, /^[0-9a-f]{32}$/);
    // Protobuf keeps ids as raw bytes and strings as UTF-8: both can be found without a decoder.
    const id = Buffer.from(run.trace_id, 'hex');
    const body = await waitFor(() => {
      const mine = receiver.protobufBodies.filter((b) => b.includes(id));
      const all = Buffer.concat(mine);
      return all.includes('invoke_agent assistant') && all.includes('chat ') && all.includes('POST /v1/run') && all;
    });
    assert.ok(body.includes('gen_ai.conversation.id'));
    assert.ok(receiver.contentTypes.has('application/x-protobuf'));
    assert.ok(receiver.headers.some((h) => h['x-collector-key'] === 'k-123' && h['content-type'] === 'application/x-protobuf'), 'OTEL_EXPORTER_OTLP_HEADERS sent');
  });
});

describe('traces with OTEL_TRACES_SAMPLER', () => {
  const app = useServer({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' } });
  it('records only what the sampler keeps: an unsampled request exports nothing, a sampled parent is followed', async () => {
    app.fake.enqueue({ content: [{ type: 'text', text: 'one' }] }, { content: [{ type: 'text', text: 'two' }] });
    const unsampled = await postJson(`${app.url}/v1/run`, { prompt: 'not sampled' });
    const traceId = randomBytes(16).toString('hex');
    const sampled = await fetch(`${app.url}/v1/run`, { method: 'POST', headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` }, body: JSON.stringify({ prompt: 'sampled' }) });
    assert.equal(sampled.status, 200);
    const spans = await waitFor(() => {
      const mine = receiver.spans.filter((s) => s.traceId === traceId);
      return mine.some((s) => s.name.startsWith('invoke_agent')) && mine.some((s) => s.name.startsWith('chat ')) && mine;
    });
    assert.ok(spans.some((s) => s.name === 'POST /v1/run'));
    // The unsampled run still has its trace id (the context propagates), but none of its spans went out.
    const run = await (await fetch(`${app.url}/v1/runs/${unsampled.body.run_id}`)).json();
    assert.match(run.trace_id, /^[0-9a-f]{32}$/);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(receiver.spans.filter((s) => s.traceId === run.trace_id).length, 0);
  });
});

describe('span records', () => {
  it('export a span once, even when its end is reported twice', async () => {
    const { startTracing } = await import('../src/observability/tracing.js');
    const tracing = startTracing({ url: `${receiver.url}/v1/traces`, content: false, protocol: 'http/json' });
    const runId = `run_twice_${randomBytes(4).toString('hex')}`;
    const scope = tracing.observer.run({ runId, threadId: 'thread_twice', agentId: 'assistant', origin: 'test', resumed: false });
    const call = scope.modelCall({ model: 'm', step: 1, startedAt: performance.now() });
    const usage = { input_tokens: 1, output_tokens: 2, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };
    call.end({ outcome: 'ok', usage });
    call.end({ outcome: 'ok', usage });
    scope.finished('completed');
    scope.finished('failed');
    await tracing.shutdown();
    const mine = receiver.spans.filter((s) => s.attributes['agentsdk.run.id'] === runId || (s.name === 'chat m' && s.attributes['gen_ai.conversation.id'] === 'thread_twice'));
    assert.deepEqual(mine.map((s) => s.name).sort(), ['chat m', 'invoke_agent assistant']);
    assert.equal(mine.find((s) => s.name === 'invoke_agent assistant')!.attributes['agentsdk.run.status'], 'completed');
  });
});
