import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { HttpAgent } from '@ag-ui/client';
import { ClientFactory } from '@a2a-js/sdk/client';
import { DefaultChatTransport, type UIMessage } from 'ai';
import { asTask, message, send } from './helpers/a2a.js';
import { TestChat } from './helpers/ai-chat.js';
import { dialects } from './helpers/databases.js';
import { postJson, postSse, waitFor } from './helpers/http.js';
import { parseMetrics, series, total, type Family } from './helpers/prometheus.js';
import { useServer } from './helpers/setup.js';

const APPROVALS = { agents: { assistant: { system: 'You help.', tools: { current_time: 'ask' } } } };

async function scrape(url: string, init?: RequestInit): Promise<Map<string, Family>> {
  const res = await fetch(`${url}/metrics`, init);
  assert.equal(res.status, 200, await res.clone().text());
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parseMetrics(await res.text());
}

/** Labels that would be unbounded: ids of runs, threads, users, principals, or a raw URL. */
function assertBounded(m: Map<string, Family>): void {
  for (const f of m.values()) {
    for (const s of f.samples) {
      for (const [k, v] of Object.entries(s.labels)) {
        assert.ok(!/(^|_)(run|thread|user|principal|session|chat|task|context)(_id)?$/.test(k), `${s.name} has label ${k}`);
        assert.ok(!/(run|thread|msg|appr|toolu)_[A-Za-z0-9]{6,}|[0-9a-f]{8}-[0-9a-f]{4}-/.test(v), `${s.name}{${k}="${v}"} carries an id`);
      }
      if (s.labels.route !== undefined) assert.ok(s.labels.route === 'unmatched' || s.labels.route.startsWith('/'), s.labels.route);
    }
  }
}

for (const dialect of dialects()) describe(`metrics [${dialect}]`, () => {
  const app = useServer({ dialect });

  it('counts runs, model calls, tokens and tools on every protocol, with bounded labels', async () => {
    const before = await scrape(app.url);
    const usage = { input_tokens: 12, output_tokens: 5, cache_read_input_tokens: 3, cache_creation_input_tokens: 2 };
    app.fake.setHandler(() => ({ content: [{ type: 'text', text: 'hello there' }], usage }));

    // Lean.
    const lean = await postJson(`${app.url}/v1/run`, { prompt: 'hi' });
    assert.equal(lean.status, 200);
    // REST canonical SSE, with one server tool call (two model calls).
    app.fake.enqueue(
      { content: [{ type: 'tool_use', id: 'toolu_m1', name: 'current_time', input: { timezone: 'UTC' } }], usage },
      { content: [{ type: 'text', text: 'noon' }], usage },
    );
    const rest = await postSse(`${app.url}/v1/runs`, { prompt: 'time?' });
    assert.equal(rest.status, 200);
    // AG-UI.
    const agent = new HttpAgent({ url: `${app.url}/v1/ag-ui/agents/assistant/runs`, threadId: randomUUID() });
    agent.addMessage({ id: randomUUID(), role: 'user', content: 'hi' });
    await agent.runAgent({ runId: randomUUID() });
    // AI SDK.
    const chat = new TestChat({ id: `chat-${Date.now()}`, transport: new DefaultChatTransport<UIMessage>({ api: `${app.url}/v1/ai-sdk/agents/assistant/runs` }) });
    await chat.sendMessage({ text: 'hi' });
    // A2A.
    const client = await new ClientFactory().createFromUrl(app.url);
    asTask(await client.sendMessage(send(message('hi'))));

    // Every run is stored finished: the counters must match the rows exactly.
    const rows = await waitFor(async () => {
      const r = await app.server.store.db.kysely.selectFrom('runs').select(['origin', 'agent_id', 'status', 'usage']).execute();
      return r.length >= 5 && r.every((x) => x.status !== 'running' && x.status !== 'queued') && r;
    });
    const after = await waitFor(async () => {
      const m = await scrape(app.url);
      return total(m, 'agentsdk_runs_finished_total', 'agentsdk_runs_finished_total') - total(before, 'agentsdk_runs_finished_total', 'agentsdk_runs_finished_total') >= rows.length && m;
    });
    assertBounded(after);
    const delta = (family: string, sample = family, match: Record<string, string> = {}) => total(after, family, sample, match) - total(before, family, sample, match);

    const origins = new Set(rows.map((r) => r.origin));
    assert.equal(origins.size, 5, `five protocols: ${[...origins]}`);
    for (const origin of origins) {
      const n = rows.filter((r) => r.origin === origin).length;
      assert.equal(delta('agentsdk_runs_started_total', 'agentsdk_runs_started_total', { origin, agent: 'assistant', resumed: 'false' }), n, `started ${origin}`);
      assert.equal(delta('agentsdk_runs_finished_total', 'agentsdk_runs_finished_total', { origin, agent: 'assistant', status: 'completed' }), n, `finished ${origin}`);
    }
    assert.equal(delta('agentsdk_run_duration_seconds', 'agentsdk_run_duration_seconds_count', { status: 'completed' }), rows.length);
    assert.equal(delta('agentsdk_run_queue_wait_seconds', 'agentsdk_run_queue_wait_seconds_count'), rows.length);

    // Six model calls (the REST run made two); tokens summed as the runs stored them.
    const calls = delta('agentsdk_model_calls_total', 'agentsdk_model_calls_total', { outcome: 'ok' });
    assert.equal(calls, 6);
    const stored = rows.reduce(
      (a, r) => {
        const u = (typeof r.usage === 'string' ? JSON.parse(r.usage) : r.usage) as typeof usage;
        return { input: a.input + u.input_tokens, output: a.output + u.output_tokens, cache_read: a.cache_read + u.cache_read_input_tokens, cache_write: a.cache_write + u.cache_creation_input_tokens };
      },
      { input: 0, output: 0, cache_read: 0, cache_write: 0 },
    );
    for (const kind of ['input', 'output', 'cache_read', 'cache_write'] as const) {
      assert.equal(delta('gen_ai_client_token_usage', 'gen_ai_client_token_usage_sum', { gen_ai_token_type: kind, gen_ai_operation_name: 'chat', gen_ai_provider_name: 'anthropic' }), stored[kind], kind);
      assert.equal(delta('gen_ai_client_token_usage', 'gen_ai_client_token_usage_count', { gen_ai_token_type: kind }), 6, `${kind} count`);
    }
    assert.equal(stored.input, 6 * 12);
    assert.equal(delta('gen_ai_client_operation_duration_seconds', 'gen_ai_client_operation_duration_seconds_count', { error_type: '' }), 6);
    assert.equal(delta('gen_ai_client_operation_time_to_first_chunk_seconds', 'gen_ai_client_operation_time_to_first_chunk_seconds_count'), 6);
    const models = new Set(series(after, 'agentsdk_model_calls_total').map((s) => s.labels.model));
    assert.ok(models.size === 1 && !models.has(''), `one model label: ${[...models]}`);

    assert.equal(delta('agentsdk_tool_calls_total', 'agentsdk_tool_calls_total', { tool: 'current_time', outcome: 'ok', agent: 'assistant' }), 1, JSON.stringify(series(after, 'agentsdk_tool_calls_total')));
    assert.equal(delta('agentsdk_tool_duration_seconds', 'agentsdk_tool_duration_seconds_count', { tool: 'current_time' }), 1);
    // finishRun once per run; a batch per stored events; the gauges are back at rest.
    assert.ok(delta('agentsdk_store_commit_duration_seconds', 'agentsdk_store_commit_duration_seconds_count', { op: 'finishRun' }) >= rows.length);
    assert.ok(delta('agentsdk_event_batch_size', 'agentsdk_event_batch_size_sum') > 0);
    assert.equal(total(after, 'agentsdk_runs_active', 'agentsdk_runs_active'), 0);
    assert.equal(total(after, 'agentsdk_runs_queued', 'agentsdk_runs_queued'), 0);
    assert.equal(total(after, 'agentsdk_sse_streams_open', 'agentsdk_sse_streams_open'), 0);
    if (dialect === 'sqlite') assert.ok(series(after, 'agentsdk_sqlite_wal_bytes').length === 1);
    else assert.ok(series(after, 'agentsdk_pg_pool_in_use').length === 1 && series(after, 'agentsdk_pg_pool_waiting').length === 1);
    assert.ok(series(after, 'process_cpu_user_seconds_total').length === 1, 'default Node metrics');

    // HTTP by route template, never the raw URL.
    const http = (route: string, method = 'POST') => delta('agentsdk_http_requests_total', 'agentsdk_http_requests_total', { route, method, status: '200' });
    assert.equal(http('/v1/run'), 1);
    assert.equal(http('/v1/runs'), 1);
    assert.equal(http('/v1/ag-ui/agents/:agentId/runs'), 1);
    assert.equal(http('/v1/ai-sdk/agents/:agentId/runs'), 1);
    assert.ok(http('/v1/a2a') >= 1, JSON.stringify(series(after, 'agentsdk_http_requests_total').map((s) => s.labels)));
    const run = await fetch(`${app.url}/v1/runs/${lean.body.run_id}`);
    assert.equal(run.status, 200);
    assert.equal((await run.json()).trace_id, null, 'no trace id while tracing is off');
    const m = await scrape(app.url);
    assert.equal(total(m, 'agentsdk_http_requests_total', 'agentsdk_http_requests_total', { route: '/v1/runs/{id}', method: 'GET', status: '200' }), 1);
    assert.equal(total(m, 'http_server_request_duration_seconds', 'http_server_request_duration_seconds_count', { route: '/v1/runs/{id}', method: 'GET' }), 1);
    assertBounded(m);
    app.fake.setHandler(null);
  });

  it('counts upstream errors by status and failed model calls', async () => {
    const before = await scrape(app.url);
    app.fake.enqueue({ error: { status: 400, type: 'invalid_request_error', message: 'nope' } });
    const res = await postJson(`${app.url}/v1/run`, { prompt: 'hi' });
    assert.equal(res.body.code, 'upstream_error');
    const after = await waitFor(async () => {
      const m = await scrape(app.url);
      return total(m, 'agentsdk_runs_finished_total', 'agentsdk_runs_finished_total', { status: 'failed' }) > total(before, 'agentsdk_runs_finished_total', 'agentsdk_runs_finished_total', { status: 'failed' }) && m;
    });
    const delta = (f: string, s: string, l: Record<string, string>) => total(after, f, s, l) - total(before, f, s, l);
    assert.equal(delta('agentsdk_model_upstream_errors_total', 'agentsdk_model_upstream_errors_total', { status: '400' }), 1);
    assert.equal(delta('agentsdk_model_calls_total', 'agentsdk_model_calls_total', { outcome: 'error' }), 1);
    assert.equal(delta('gen_ai_client_operation_duration_seconds', 'gen_ai_client_operation_duration_seconds_count', { error_type: '400' }), 1);
  });
});

describe('metrics: approvals', () => {
  const app = useServer({ agents: APPROVALS });
  it('counts approvals requested and decided, and waiting runs', async () => {
    app.fake.enqueue({ content: [{ type: 'tool_use', id: 'toolu_a1', name: 'current_time', input: {} }] }, { content: [{ type: 'text', text: 'done' }] });
    const sse = await postSse(`${app.url}/v1/runs`, { prompt: 'time?' });
    const runId = JSON.parse(sse.frames[0].data).run_id;
    const res = { body: (await (await fetch(`${app.url}/v1/runs/${runId}`)).json()) as any };
    assert.equal(res.body.status, 'waiting');
    let m = await waitFor(async () => {
      const x = await scrape(app.url);
      return total(x, 'agentsdk_runs_waiting', 'agentsdk_runs_waiting') === 1 && x;
    });
    assert.equal(total(m, 'agentsdk_approvals_requested_total', 'agentsdk_approvals_requested_total', { agent: 'assistant' }), 1);
    assert.equal(total(m, 'agentsdk_runs_finished_total', 'agentsdk_runs_finished_total', { status: 'waiting' }), 1);
    const approval = res.body.pending.approvals[0];
    const inputs = await postJson(`${app.url}/v1/runs/${runId}/inputs`, { decisions: [{ approval_id: approval.approval_id, approved: true }] });
    assert.equal(inputs.status, 202);
    m = await waitFor(async () => {
      const x = await scrape(app.url);
      return total(x, 'agentsdk_runs_finished_total', 'agentsdk_runs_finished_total', { status: 'completed' }) === 1 && x;
    });
    assert.equal(total(m, 'agentsdk_approvals_decided_total', 'agentsdk_approvals_decided_total', { decision: 'approved' }), 1);
    assert.equal(total(m, 'agentsdk_runs_started_total', 'agentsdk_runs_started_total', { resumed: 'true' }), 1);
    assert.equal(total(m, 'agentsdk_tool_calls_total', 'agentsdk_tool_calls_total', { tool: 'current_time', outcome: 'ok' }), 1);
    assert.equal(total(m, 'agentsdk_runs_waiting', 'agentsdk_runs_waiting'), 0);
  });
});

const ADMIN_KEY = 'admin-key-0123456789abcdef';
const USER_KEY = 'user-key-0123456789abcdefgh';
const sha = (k: string) => createHash('sha256').update(k).digest('hex');

describe('metrics: access', () => {
  const app = useServer({ env: { AGENTSDK_API_KEYS: ADMIN_KEY } });
  it('needs an admin key: 401 without one, 404 for a non-admin key', async () => {
    assert.equal((await fetch(`${app.url}/metrics`)).status, 401);
    assert.equal((await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${USER_KEY}` } })).status, 401);
    await scrape(app.url, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  });
});

describe('metrics: access with a keys file', () => {
  const app = useServer({
    prepare: () => {
      const file = join(process.env.TMPDIR ?? '/tmp', `metrics-keys-${randomUUID()}.json`);
      writeFileSync(file, JSON.stringify([{ name: 'alice', sha256: sha(USER_KEY), admin: false }]));
      return { env: { AGENTSDK_API_KEYS: ADMIN_KEY, AGENTSDK_API_KEYS_FILE: file } };
    },
  });
  it('answers a non-admin key like an unknown route', async () => {
    assert.equal((await fetch(`${app.url}/metrics`)).status, 401);
    const res = await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${USER_KEY}` } });
    assert.equal(res.status, 404);
    assert.equal((await res.json()).code, 'not_found');
    await scrape(app.url, { headers: { 'x-api-key': ADMIN_KEY } });
  });
});

describe('metrics: AGENTSDK_METRICS_ADDR', () => {
  const app = useServer({ env: { AGENTSDK_METRICS_ADDR: '127.0.0.1:0', AGENTSDK_API_KEYS: ADMIN_KEY } });
  it('serves /metrics on its own listener without auth, and not on the main one', async () => {
    const metricsUrl = app.server.metricsUrl;
    assert.ok(metricsUrl);
    const run = await fetch(`${app.url}/v1/run`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` }, body: JSON.stringify({ prompt: 'hi' }) });
    assert.equal(run.status, 200);
    const m = await waitFor(async () => {
      const res = await fetch(metricsUrl);
      const x = parseMetrics(await res.text());
      return total(x, 'agentsdk_runs_finished_total', 'agentsdk_runs_finished_total') === 1 && x;
    });
    assert.equal(total(m, 'agentsdk_http_requests_total', 'agentsdk_http_requests_total', { route: '/v1/run' }), 1);
    assert.equal((await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).status, 404);
    assert.equal((await fetch(metricsUrl.replace('/metrics', '/v1/agents'))).status, 404);
  });
});

describe('metrics: model retries', () => {
  const app = useServer({ env: { ANTHROPIC_MAX_RETRIES: '1' } });
  it('counts the SDK retry and the upstream error that caused it', async () => {
    app.fake.enqueue({ error: { status: 529, type: 'overloaded_error', message: 'busy' } }, { content: [{ type: 'text', text: 'ok now' }] });
    const res = await postJson(`${app.url}/v1/run`, { prompt: 'hi' });
    assert.equal(res.status, 200);
    assert.equal(app.fake.requests.length, 2);
    const m = await scrape(app.url);
    assert.equal(total(m, 'agentsdk_model_retries_total', 'agentsdk_model_retries_total'), 1);
    assert.equal(total(m, 'agentsdk_model_upstream_errors_total', 'agentsdk_model_upstream_errors_total', { status: '529' }), 1);
    assert.equal(total(m, 'agentsdk_model_calls_total', 'agentsdk_model_calls_total', { outcome: 'ok' }), 1);
  });
});

describe('metrics: configuration', () => {
  it('validates AGENTSDK_METRICS and AGENTSDK_METRICS_ADDR, and reads the OTLP endpoints', async () => {
    const { loadConfig, ConfigError } = await import('../src/config.js');
    assert.throws(() => loadConfig({ AGENTSDK_METRICS_ADDR: 'nope', AGENTSDK_METRICS: 'maybe' }, []), (err: unknown) => err instanceof ConfigError && /AGENTSDK_METRICS_ADDR/.test(err.message) && /AGENTSDK_METRICS "maybe"/.test(err.message));
    const c = loadConfig({ AGENTSDK_METRICS_ADDR: ':9464', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }, []);
    assert.deepEqual(c.metricsAddr, { host: '0.0.0.0', port: 9464 });
    assert.equal(c.metrics, true);
    assert.equal(c.tracesUrl, 'http://collector:4318/v1/traces');
    assert.equal(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b/t' }, []).tracesUrl, 'http://b/t');
    assert.equal(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_SDK_DISABLED: 'true' }, []).tracesUrl, undefined);
    assert.equal(loadConfig({ AGENTSDK_METRICS: 'off' }, []).metrics, false);
  });
});
