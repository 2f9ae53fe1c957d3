import { statSync } from 'node:fs';
import type { Request, Response } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ModelCallResult, ModelCallScope, RunObserver, RunScope, ToolCallScope } from '../runtime/observer.js';
import { HotCounter, HotHistogram, Keyed, type CounterChild, type HistogramChild } from './hot-metrics.js';
import type { HttpObserver } from './http-observer.js';

/** What the metrics read at scrape time (the process's own state, never per-run data). */
export interface MetricsSources {
  /** Runs stored `waiting` (a cheap count query). */
  waitingRuns?: () => Promise<number>;
  sseStreams?: () => number;
  /** SQLite file path: the size of its `-wal` file is reported. */
  sqlitePath?: string;
  pgPool?: () => { total: number; idle: number; waiting: number } | undefined;
}

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
// GenAI semantic conventions' advised buckets.
const TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304];
const GENAI_SECONDS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];

/**
 * Prometheus metrics of the server, in a registry of its own (several servers may share a test
 * process). Labels are bounded: agents, models, tools, routes, statuses; never a thread, run or
 * principal id.
 */
export class Metrics {
  readonly registry = new Registry();
  // The per-run hot path: children resolved once per label set (hot-metrics.ts).
  private readonly httpSeries: Keyed<{ requests: CounterChild; duration: HistogramChild }>;
  private readonly runSeries: RunSeries;
  private readonly commitDuration: HotHistogram;
  private readonly eventBatch: HotHistogram;
  // Rarer: prom-client's own.
  private readonly retries: Counter;
  private readonly upstreamErrors: Counter<'status'>;

  constructor(sources: MetricsSources = {}) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const httpDuration = new HotHistogram('http_server_request_duration_seconds', 'HTTP requests by route template and status (SSE: until the stream ends)', ['method', 'route', 'status'], SECONDS, this.registry);
    const httpRequests = new HotCounter('agentsdk_http_requests_total', 'HTTP requests by route template and status', ['method', 'route', 'status'], this.registry);
    // Both series of a response found by one lookup.
    this.httpSeries = new Keyed(3, (method, route, status) => ({ requests: httpRequests.of(method, route, status), duration: httpDuration.of(method, route, status) }));
    const runsStarted = new HotCounter('agentsdk_runs_started_total', 'Run stretches launched (resumed="true": a waiting run going on)', ['agent', 'origin', 'resumed'], this.registry);
    const runsFinished = new HotCounter('agentsdk_runs_finished_total', 'Run stretches ended, by final status', ['agent', 'origin', 'status'], this.registry);
    const runDuration = new HotHistogram('agentsdk_run_duration_seconds', 'Run stretch from launch to its stored end', ['agent', 'status'], SECONDS, this.registry);
    const queueWait = new HotHistogram('agentsdk_run_queue_wait_seconds', "Time a run waited for its thread's turn", ['agent'], SECONDS, this.registry);
    const ttft = new HotHistogram('gen_ai_client_operation_time_to_first_chunk_seconds', 'Model call start to the first text, reasoning or tool delta', ['agent', 'gen_ai_request_model'], GENAI_SECONDS, this.registry);
    const modelCalls = new HotCounter('agentsdk_model_calls_total', 'Model calls by outcome (ok, error, cancelled)', ['agent', 'model', 'outcome'], this.registry);
    const tokens = new HotHistogram('gen_ai_client_token_usage', 'Tokens per model call by type (input, output, cache_read, cache_write); _sum is the total', ['agent', 'gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model', 'gen_ai_token_type'], TOKEN_BUCKETS, this.registry);
    const opDuration = new HotHistogram('gen_ai_client_operation_duration_seconds', 'Model call duration (error_type set when it failed)', ['agent', 'gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model', 'error_type'], GENAI_SECONDS, this.registry);
    this.retries = new Counter({ name: 'agentsdk_model_retries_total', help: 'Model API requests the SDK retried', registers });
    this.upstreamErrors = new Counter({ name: 'agentsdk_model_upstream_errors_total', help: 'Model API responses that were errors, by HTTP status (network: no response)', labelNames: ['status'], registers });
    const toolCalls = new Counter({ name: 'agentsdk_tool_calls_total', help: 'Server tool calls by outcome (ok, error)', labelNames: ['agent', 'tool', 'outcome'], registers });
    const toolDuration = new Histogram({ name: 'agentsdk_tool_duration_seconds', help: 'Server tool call duration', labelNames: ['tool', 'outcome'], buckets: SECONDS, registers });
    const approvalsRequested = new Counter({ name: 'agentsdk_approvals_requested_total', help: 'Tool calls that asked for a human decision', labelNames: ['agent'], registers });
    const approvalsDecided = new Counter({ name: 'agentsdk_approvals_decided_total', help: 'Approval decisions applied when a run went on', labelNames: ['agent', 'decision'], registers });
    this.commitDuration = new HotHistogram('agentsdk_store_commit_duration_seconds', "Store commits on a run's path", ['op'], [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1], this.registry);
    this.eventBatch = new HotHistogram('agentsdk_event_batch_size', 'Run events per stored batch', [], [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000], this.registry);

    // What a run and a model call observe, found once per run and per call by agent and model (a
    // label set's series then show 0 until observed, as Prometheus advises for known label sets).
    const byAgent = new Keyed(2, (agent, origin) => ({
      started: [runsStarted.of(agent, origin, 'false'), runsStarted.of(agent, origin, 'true')] as const,
      queueWait: queueWait.of(agent),
      ended: new Keyed(1, (status) => ({ count: runsFinished.of(agent, origin, status), duration: runDuration.of(agent, status) })),
    }));
    const byModel = new Keyed(2, (agent, model) => ({
      ttft: ttft.of(agent, model),
      ok: modelCalls.of(agent, model, 'ok'),
      okDuration: opDuration.of(agent, 'chat', 'anthropic', model, ''),
      input: tokens.of(agent, 'chat', 'anthropic', model, 'input'),
      output: tokens.of(agent, 'chat', 'anthropic', model, 'output'),
    }));
    this.runSeries = { byAgent, byModel, modelCalls, tokens, opDuration, toolCalls, toolDuration, approvalsRequested, approvalsDecided, active: 0, queued: 0 };
    const self = this;
    new Gauge({ name: 'agentsdk_runs_active', help: 'Run stretches live in this process (queued or running)', registers, collect() { this.set(self.runSeries.active); } });
    new Gauge({ name: 'agentsdk_runs_queued', help: "Live runs waiting for their thread's turn", registers, collect() { this.set(self.runSeries.queued); } });
    if (sources.waitingRuns) {
      const read = sources.waitingRuns;
      new Gauge({ name: 'agentsdk_runs_waiting', help: 'Runs stored waiting for approvals or client tool results', registers, async collect() { this.set(await read().catch(() => Number.NaN)); } });
    }
    if (sources.sseStreams) {
      const read = sources.sseStreams;
      new Gauge({ name: 'agentsdk_sse_streams_open', help: 'Open SSE responses', registers, collect() { this.set(read()); } });
    }
    if (sources.sqlitePath) {
      const wal = `${sources.sqlitePath}-wal`;
      new Gauge({ name: 'agentsdk_sqlite_wal_bytes', help: 'Size of the SQLite write-ahead log file', registers, collect() { this.set(fileSize(wal)); } });
    }
    if (sources.pgPool) {
      const read = sources.pgPool;
      new Gauge({ name: 'agentsdk_pg_pool_in_use', help: 'PostgreSQL pool connections checked out', registers, collect() { const p = read(); this.set(p ? p.total - p.idle : 0); } });
      new Gauge({ name: 'agentsdk_pg_pool_waiting', help: 'Queries waiting for a PostgreSQL pool connection', registers, collect() { this.set(read()?.waiting ?? 0); } });
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** Per request: the route template (mount prefix + `req.route.path`), never the raw URL. */
  readonly httpObserver: HttpObserver = {
    start(_req: Request, res: Response): void {
      res.locals.metricsT0 = performance.now();
    },
    closed: (res: Response): void => {
      const method = METHODS.has(res.req.method) ? res.req.method : 'OTHER';
      const s = this.httpSeries.of(method, routeTemplate(res.req, res.locals), String(res.statusCode));
      s.requests.inc();
      s.duration.observe((performance.now() - (res.locals.metricsT0 as number)) / 1000);
    },
  };

  /** A stored batch of run events (EventWriter). */
  eventBatchStored(rows: number): void {
    this.eventBatch.of().observe(rows);
  }

  /** One HTTP response (or network failure) of the model API; `retry`: the SDK's retry of an earlier attempt. */
  upstream(status: number | 'network', retry: boolean): void {
    if (retry) this.retries.inc();
    if (status === 'network' || status >= 400) this.upstreamErrors.inc({ status: String(status) });
  }

  readonly observer: RunObserver = {
    traceId: () => undefined,
    commit: (op, seconds) => this.commitDuration.of(op).observe(seconds),
    run: (info) => new RunMetrics(this.runSeries, info.agentId, info.origin, info.resumed),
  };
}

/** The series a run and its calls observe, and the live-run counts the gauges read. */
interface RunSeries {
  byAgent: Keyed<AgentRunSeries>;
  byModel: Keyed<ModelSeries>;
  modelCalls: HotCounter;
  tokens: HotHistogram;
  opDuration: HotHistogram;
  toolCalls: Counter<'agent' | 'tool' | 'outcome'>;
  toolDuration: Histogram<'tool' | 'outcome'>;
  approvalsRequested: Counter<'agent'>;
  approvalsDecided: Counter<'agent' | 'decision'>;
  active: number;
  queued: number;
}
interface AgentRunSeries {
  started: readonly [CounterChild, CounterChild];
  queueWait: HistogramChild;
  ended: Keyed<{ count: CounterChild; duration: HistogramChild }>;
}
/** An agent's calls of one model: what every successful call observes. */
interface ModelSeries {
  ttft: HistogramChild;
  ok: CounterChild;
  okDuration: HistogramChild;
  input: HistogramChild;
  output: HistogramChild;
}

// Scopes as classes: one object per run and per call, not a closure per method.
class RunMetrics implements RunScope {
  private readonly t0 = performance.now();
  private hasBegun = false;
  private readonly s: AgentRunSeries;
  constructor(
    private readonly m: RunSeries,
    private readonly agent: string,
    origin: string,
    resumed: boolean,
  ) {
    m.active++;
    m.queued++;
    this.s = m.byAgent.of(agent, origin);
    this.s.started[resumed ? 1 : 0].inc();
  }
  began(): void {
    if (this.hasBegun) return;
    this.hasBegun = true;
    this.m.queued--;
    this.s.queueWait.observe((performance.now() - this.t0) / 1000);
  }
  modelCall(c: { model: string; startedAt: number }): ModelCallScope {
    return new ModelCallMetrics(this.m, this.agent, c.model, c.startedAt);
  }
  toolCall(c: { name: string }): ToolCallScope {
    return new ToolCallMetrics(this.m, this.agent, c.name);
  }
  approvalsRequested(n: number): void {
    this.m.approvalsRequested.inc({ agent: this.agent }, n);
  }
  approvalDecided(approved: boolean): void {
    this.m.approvalsDecided.inc({ agent: this.agent, decision: approved ? 'approved' : 'denied' });
  }
  finished(status: string): void {
    const m = this.m;
    if (!this.hasBegun) m.queued--;
    this.hasBegun = true;
    m.active--;
    const ended = this.s.ended.of(status);
    ended.count.inc();
    ended.duration.observe((performance.now() - this.t0) / 1000);
  }
}

class ModelCallMetrics implements ModelCallScope {
  private readonly s: ModelSeries;
  constructor(
    private readonly m: RunSeries,
    private readonly agent: string,
    private readonly model: string,
    private readonly c0: number,
  ) {
    this.s = m.byModel.of(agent, model);
  }
  chunk(): void {
    this.s.ttft.observe((performance.now() - this.c0) / 1000);
  }
  end(r: ModelCallResult): void {
    const { m, s, agent, model } = this;
    const seconds = (performance.now() - this.c0) / 1000;
    if (r.outcome === 'ok') {
      s.ok.inc();
      s.okDuration.observe(seconds);
    } else {
      m.modelCalls.of(agent, model, r.outcome).inc();
      const errorType = r.errorStatus ? String(r.errorStatus) : r.outcome === 'cancelled' ? 'cancelled' : 'error';
      m.opDuration.of(agent, 'chat', 'anthropic', model, errorType).observe(seconds);
    }
    const u = r.usage;
    // Input is reported even when 0; the others only when the model reported some.
    s.input.observe(u.input_tokens);
    s.output.observe(u.output_tokens);
    if (u.cache_read_input_tokens) m.tokens.of(agent, 'chat', 'anthropic', model, 'cache_read').observe(u.cache_read_input_tokens);
    if (u.cache_creation_input_tokens) m.tokens.of(agent, 'chat', 'anthropic', model, 'cache_write').observe(u.cache_creation_input_tokens);
  }
}

class ToolCallMetrics implements ToolCallScope {
  private readonly c0 = performance.now();
  constructor(
    private readonly m: RunSeries,
    private readonly agent: string,
    private readonly tool: string,
  ) {}
  end(outcome: 'ok' | 'error' | 'denied'): void {
    this.m.toolCalls.inc({ agent: this.agent, tool: this.tool, outcome });
    this.m.toolDuration.observe({ tool: this.tool, outcome }, (performance.now() - this.c0) / 1000);
  }
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Express's matched route with its mount prefix; routers without one (tRPC, REST) name their own or a prefix. */
export function routeTemplate(req: { route?: { path?: unknown }; baseUrl?: string }, locals: Record<string, unknown>): string {
  if (typeof locals.routeTemplate === 'string') return locals.routeTemplate;
  const path = req.route?.path;
  // A router mounted at a path serving its root ('/'): the mount path alone.
  const route = typeof path === 'string' ? (req.baseUrl && path === '/' ? req.baseUrl : `${req.baseUrl ?? ''}${path}`) : req.baseUrl ? `${req.baseUrl}/*` : 'unmatched';
  // Kept for the next to ask (metrics and traces both do, when the response ends).
  locals.routeTemplate = route;
  return route;
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
