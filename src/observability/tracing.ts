// Loaded only when tracing is configured (dynamic import in src/server.ts): none of OpenTelemetry
// is required otherwise.
import { propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type SpanContext } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from '@opentelemetry/otlp-exporter-base/node-http';
import { ProtobufTraceSerializer, TraceExporterMetricsHelper } from '@opentelemetry/otlp-transformer';
import { defaultResource, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, SamplingDecision, TraceIdRatioBasedSampler, type ReadableSpan, type Sampler, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Request, Response } from 'express';
import type { HttpObserver } from './http-observer.js';
import { NOOP_RUN_SCOPE, type ModelCallResult, type ModelCallScope, type RunInfo, type RunObserver, type RunScope, type ToolCallScope } from '../runtime/observer.js';
import { routeTemplate } from './metrics.js';
import { protobufSerializer } from './otlp-protobuf.js';
import { newTraceId, SAMPLED, SCOPE, SpanBatcher, SpanRecord, unrecorded, type AttributeSink } from './spans.js';

export interface Tracing {
  observer: RunObserver;
  /** The HTTP server span of each request (an incoming `traceparent` is its parent); its context goes to `res.locals.trace`. */
  httpObserver: HttpObserver;
  /** `trace_id`/`span_id` for a log line with these fields (a line naming a live run's `runId` gets its span's). */
  logFields(fields: Record<string, unknown>): object;
  shutdown(): Promise<void>;
}

const NONE = {};
const FAILED = new Set(['failed', 'timed_out', 'interrupted']);
// Read once: each property of the bundled API package is a getter (two, through its re-exports).
const { SERVER, CLIENT, INTERNAL } = SpanKind;
const ERROR = { code: SpanStatusCode.ERROR };
// Nothing for the sampler to read: the standard samplers decide from the trace id and the parent.
const NO_ATTRIBUTES = {};
const NO_LINKS: [] = [];
let registered = false;

const bsp = (name: string, fallback: number) => {
  const n = Number(process.env[name]);
  return process.env[name] && n > 0 ? n : fallback;
};
const json = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

/** What every span of a tracing instance shares. */
interface Tracer {
  resource: Resource;
  content: boolean;
  batcher: SpanBatcher;
  runSpans: Map<string, SpanContext>;
}

/*
 * A span's context is what requests and runs pass on (`res.locals.trace`, Principal.trace): a
 * recorded span is its own; an unrecorded one (its trace not sampled) has ids only. A child is
 * recorded when its parent is, as OpenTelemetry's parent-based samplers decide for a local parent
 * (and as the other standard samplers decide for every span of one trace).
 */
const recorded = (ctx: SpanContext) => (ctx.traceFlags & SAMPLED) === SAMPLED;

class HttpSpan extends SpanRecord {
  route: string | undefined;
  statusCode = 0;
  constructor(
    readonly t: Tracer,
    traceId: string,
    parent: SpanContext | undefined,
    private readonly method: string,
    private readonly path: string,
  ) {
    super(SERVER, traceId, parent, performance.now(), t.resource);
  }
  get name(): string {
    return this.route === undefined ? this.method : `${this.method} ${this.route}`;
  }
  eachAttribute(a: AttributeSink): void {
    a.attr('http.request.method', this.method);
    a.attr('url.path', this.path);
    a.attr('url.scheme', 'http');
    a.attr('http.response.status_code', this.statusCode);
    if (this.route !== undefined) a.attr('http.route', this.route);
  }
}

/** A run stretch's `invoke_agent` span, and the run's scope. */
class RunSpan extends SpanRecord implements RunScope {
  private queueWait: number | undefined;
  private runStatus = '';
  constructor(
    private readonly t: Tracer,
    traceId: string,
    parent: SpanContext | undefined,
    private readonly info: RunInfo,
  ) {
    super(INTERNAL, traceId, parent, performance.now(), t.resource);
  }
  get name(): string {
    return `invoke_agent ${this.info.agentId}`;
  }
  eachAttribute(a: AttributeSink): void {
    const i = this.info;
    a.attr('gen_ai.operation.name', 'invoke_agent');
    a.attr('gen_ai.provider.name', 'anthropic');
    a.attr('gen_ai.agent.id', i.agentId);
    a.attr('gen_ai.conversation.id', i.threadId);
    a.attr('agentsdk.run.id', i.runId);
    a.attr('agentsdk.run.origin', i.origin);
    if (i.resumed) a.attr('agentsdk.run.resumed', true);
    // Attributes rather than span events: each event is one more object to keep and encode per run.
    if (this.queueWait !== undefined) a.attr('agentsdk.run.queue_wait', this.queueWait);
    if (this.runStatus) a.attr('agentsdk.run.status', this.runStatus);
    if (FAILED.has(this.runStatus)) a.attr('error.type', this.runStatus);
  }
  began(): void {
    this.queueWait = (performance.now() - this.t0) / 1000;
  }
  modelCall(m: { model: string; step: number; messages?: unknown; system?: string; startedAt: number }): ModelCallScope {
    return new ChatSpan(this.t, this, this.info.threadId, m);
  }
  toolCall(c: { name: string; id: string; input?: unknown }): ToolCallScope {
    return new ToolSpan(this.t, this, c.name, c.id, c.input);
  }
  approvalsRequested(count: number): void {
    this.addEvent('agentsdk.approvals.requested', { count });
  }
  approvalDecided(approved: boolean): void {
    this.addEvent('agentsdk.approval.decided', { approved });
  }
  finished(status: string): void {
    this.t.runSpans.delete(this.info.runId);
    if (this.ended) return; // one export per span, whatever calls it twice
    this.runStatus = status;
    if (FAILED.has(status)) this.status = ERROR;
    this.finish(this.t.batcher);
  }
}

class ChatSpan extends SpanRecord implements ModelCallScope {
  private firstChunk: number | undefined;
  // What the call's result is exported with, taken at its end: the result itself holds the
  // answer's content, which would otherwise be kept until the batch is sent.
  private usage: ModelCallResult['usage'] | undefined;
  private responseId: string | undefined;
  private stopReason: string | null | undefined;
  private errorType: string | undefined;
  private output: string | undefined;
  private readonly model: string;
  private readonly step: number;
  private readonly startedAt: number;
  private readonly input: string | undefined;
  private readonly system: string | undefined;
  constructor(
    private readonly t: Tracer,
    parent: RunSpan,
    private readonly threadId: string,
    m: { model: string; step: number; messages?: unknown; system?: string; startedAt: number },
  ) {
    // A run's first call may go out before its run span starts: never before its parent.
    super(CLIENT, parent.traceId, parent, Math.max(m.startedAt, parent.t0), t.resource);
    this.model = m.model;
    this.step = m.step;
    this.startedAt = m.startedAt;
    // Contents serialised now, the rest kept as values: the history array grows after the call.
    this.input = t.content && m.messages ? json(m.messages) : undefined;
    this.system = t.content ? m.system : undefined;
  }
  get name(): string {
    return `chat ${this.model}`;
  }
  eachAttribute(a: AttributeSink): void {
    a.attr('gen_ai.operation.name', 'chat');
    a.attr('gen_ai.provider.name', 'anthropic');
    a.attr('gen_ai.request.model', this.model);
    a.attr('gen_ai.conversation.id', this.threadId);
    a.attr('agentsdk.step', this.step);
    if (this.input !== undefined) a.attr('gen_ai.input.messages', this.input);
    if (this.system) a.attr('gen_ai.system_instructions', this.system);
    if (this.firstChunk !== undefined) a.attr('gen_ai.response.time_to_first_chunk', this.firstChunk);
    const u = this.usage;
    if (!u) return;
    a.attr('gen_ai.usage.input_tokens', u.input_tokens);
    a.attr('gen_ai.usage.output_tokens', u.output_tokens);
    // Cache tokens only when the model reported some.
    if (u.cache_read_input_tokens) a.attr('gen_ai.usage.cache_read.input_tokens', u.cache_read_input_tokens);
    if (u.cache_creation_input_tokens) a.attr('gen_ai.usage.cache_creation.input_tokens', u.cache_creation_input_tokens);
    if (this.responseId) a.attr('gen_ai.response.id', this.responseId);
    if (this.stopReason) a.attr('gen_ai.response.finish_reasons', [this.stopReason]);
    if (this.output !== undefined) a.attr('gen_ai.output.messages', this.output);
    if (this.errorType !== undefined) a.attr('error.type', this.errorType);
  }
  chunk(): void {
    this.firstChunk = (performance.now() - this.startedAt) / 1000;
  }
  end(r: ModelCallResult): void {
    if (this.ended) return;
    this.usage = r.usage;
    this.responseId = r.responseId;
    this.stopReason = r.stopReason;
    if (this.t.content && r.output !== undefined) this.output = json([{ role: 'assistant', content: r.output }]);
    if (r.outcome !== 'ok') {
      this.status = ERROR;
      this.errorType = r.errorStatus ? String(r.errorStatus) : r.outcome === 'cancelled' ? 'cancelled' : (r.errorType ?? 'error');
    }
    this.finish(this.t.batcher);
  }
}

class ToolSpan extends SpanRecord implements ToolCallScope {
  private outcome: 'ok' | 'error' | 'denied' = 'ok';
  private output: string | undefined;
  private readonly input: string | undefined;
  constructor(
    private readonly t: Tracer,
    parent: RunSpan,
    private readonly tool: string,
    private readonly callId: string,
    input: unknown,
  ) {
    super(INTERNAL, parent.traceId, parent, performance.now(), t.resource);
    this.input = t.content && input !== undefined ? json(input) : undefined;
  }
  get name(): string {
    return `execute_tool ${this.tool}`;
  }
  eachAttribute(a: AttributeSink): void {
    a.attr('gen_ai.operation.name', 'execute_tool');
    a.attr('gen_ai.tool.name', this.tool);
    a.attr('gen_ai.tool.call.id', this.callId);
    a.attr('gen_ai.tool.type', 'function');
    if (this.input !== undefined) a.attr('gen_ai.tool.call.arguments', this.input);
    if (this.output !== undefined) a.attr('gen_ai.tool.call.result', this.output);
    if (this.outcome !== 'ok') a.attr('error.type', this.outcome === 'denied' ? 'denied' : 'tool_error');
  }
  end(outcome: 'ok' | 'error' | 'denied', output?: string): void {
    if (this.ended) return;
    this.outcome = outcome;
    if (this.t.content) this.output = output;
    if (outcome !== 'ok') this.status = ERROR;
    this.finish(this.t.batcher);
  }
}

/** The end of a response: its HTTP span (when recorded) ends. */
function httpClosed(res: Response): void {
  const span = res.locals.trace;
  if (!(span instanceof HttpSpan)) return;
  const route = routeTemplate(res.req, res.locals);
  span.statusCode = res.statusCode;
  if (route !== 'unmatched') span.route = route;
  if (res.statusCode >= 500) span.status = ERROR;
  span.finish(span.t.batcher);
}

export function startTracing(opts: { url: string; content: boolean; protocol?: 'http/protobuf' | 'http/json'; sampler?: { name: string; ratio: number }; serviceName?: string }): Tracing {
  // No global context manager: on Node 20 its AsyncLocalStorage hooks every promise, which cost
  // more CPU than all the spans. A request's context travels explicitly instead: the HTTP span's
  // context is put in `res.locals.trace`, read into Principal.trace and handed to the runtime.
  if (!registered) {
    registered = true;
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  }
  const rootSampler = sampler(opts.sampler ?? { name: 'parentbased_always_on', ratio: 1 });
  const resource = defaultResource().merge(resourceFromAttributes({ 'service.name': opts.serviceName ?? process.env.OTEL_SERVICE_NAME ?? 'agent-server' }));
  const t: Tracer = {
    resource,
    content: opts.content,
    // Unless OTEL_BSP_* says otherwise: small batches sent often, so that a span is exported (and
    // collected) young. Under load, spans kept for the SDK's 5 s, or for batches of 4096, outlive
    // young-generation collections and cost about a point of CPU in old-generation GC; a request
    // per 256 spans costs far less. The queue is larger than the SDK's 2048 so that a slow
    // collector does not drop the spans of a burst.
    batcher: new SpanBatcher(opts.protocol === 'http/json' ? new OtlpJsonExporter({ url: opts.url }) : protobufExporter(opts.url, resource), {
      maxQueueSize: bsp('OTEL_BSP_MAX_QUEUE_SIZE', 16_384),
      maxExportBatchSize: bsp('OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 256),
      scheduledDelayMillis: bsp('OTEL_BSP_SCHEDULE_DELAY', 200),
    }),
    /** Live run stretches' span contexts, for their log lines. */
    runSpans: new Map(),
  };

  // The default sampler records every trace that does not come with a parent: no call to make then.
  const everyRoot = !opts.sampler || opts.sampler.name === 'always_on' || opts.sampler.name === 'parentbased_always_on';
  /** Whether a local root (a span with no parent, or a remote one) is recorded: the sampler's call. */
  const sampled = (traceId: string, name: string, kind: SpanKind, remote?: Context) =>
    (everyRoot && remote === undefined) || rootSampler.shouldSample(remote ?? ROOT_CONTEXT, traceId, name, kind, NO_ATTRIBUTES, NO_LINKS).decision === SamplingDecision.RECORD_AND_SAMPLED;

  const httpObserver: HttpObserver = {
    start(req: Request, res: Response): void {
      // Most requests carry no trace context: nothing to extract.
      const remote = req.headers.traceparent === undefined ? undefined : propagation.extract(ROOT_CONTEXT, req.headers);
      const parent = remote && trace.getSpanContext(remote);
      const traceId = parent?.traceId ?? newTraceId();
      res.locals.trace = sampled(traceId, req.method, SERVER, remote) ? new HttpSpan(t, traceId, parent, req.method, req.path) : unrecorded(traceId, parent?.traceState);
    },
    closed: httpClosed,
  };

  const run = (info: RunInfo): RunScope => {
    const parent = info.parent as SpanContext | undefined;
    const traceId = parent?.traceId ?? newTraceId();
    const record = parent ? recorded(parent) : sampled(traceId, `invoke_agent ${info.agentId}`, INTERNAL);
    const span = record ? new RunSpan(t, traceId, parent, info) : unrecorded(traceId, parent?.traceState);
    t.runSpans.set(info.runId, span);
    return record ? (span as RunSpan) : unrecordedRun(t, info.runId);
  };

  return {
    observer: {
      traceId: (parent) => (parent as SpanContext | undefined)?.traceId,
      run,
      commit() {},
    },
    httpObserver,
    logFields(fields) {
      const span = typeof fields.runId === 'string' ? t.runSpans.get(fields.runId) : undefined;
      return span ? { trace_id: span.traceId, span_id: span.spanId } : NONE;
    },
    shutdown: () => t.batcher.shutdown(),
  };
}

/**
 * OTLP/HTTP protobuf: the SDK's transport (its retries, timeout, OTEL_EXPORTER_OTLP_* headers,
 * compression and certificates, read as its own exporter reads them) with this module's encoding.
 */
function protobufExporter(url: string, resource: Resource): SpanExporter {
  const encode = protobufSerializer(resource.attributes, SCOPE);
  const serializer = { serializeRequest: (spans: ReadableSpan[]) => encode.serializeRequest(spans as SpanRecord[]), deserializeResponse: ProtobufTraceSerializer.deserializeResponse };
  const options = convertLegacyHttpOptions({ url }, 'TRACES', 'v1/traces', { 'Content-Type': 'application/x-protobuf' });
  // The exporter's own metrics: no meter provider is given, so they are not recorded.
  return new OTLPExporterBase(createOtlpHttpExportDelegate(options, serializer, 'otlp_http_span_exporter', TraceExporterMetricsHelper, undefined));
}

/** The scope of a run whose trace is not recorded: only its log context to drop at the end. */
function unrecordedRun(t: Tracer, runId: string): RunScope {
  return { ...NOOP_RUN_SCOPE, finished: () => t.runSpans.delete(runId) };
}

/** The standard `OTEL_TRACES_SAMPLER` values (config.ts validates them), from the server's own config rather than the SDK's read of process.env. */
function sampler({ name, ratio }: { name: string; ratio: number }): Sampler {
  const root = name.endsWith('always_off') ? new AlwaysOffSampler() : name.endsWith('traceidratio') ? new TraceIdRatioBasedSampler(ratio) : new AlwaysOnSampler();
  return name.startsWith('parentbased_') ? new ParentBasedSampler({ root }) : root;
}

