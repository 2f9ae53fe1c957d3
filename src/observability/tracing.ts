// Loaded only when tracing is configured (dynamic import in src/server.ts): none of OpenTelemetry
// is required otherwise.
import { propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOffSampler, AlwaysOnSampler, BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, type Sampler } from '@opentelemetry/sdk-trace-base';
import type { RequestHandler } from 'express';
import type { RunObserver, RunScope } from '../runtime/observer.js';
import { routeTemplate } from './metrics.js';

export interface Tracing {
  observer: RunObserver;
  /** The HTTP server span of each request (an incoming `traceparent` is its parent); its context goes to `res.locals.trace`. */
  http(): RequestHandler;
  /** `trace_id`/`span_id` for a log line with these fields (a line naming a live run's `runId` gets its span's). */
  logFields(fields: Record<string, unknown>): object;
  shutdown(): Promise<void>;
}

const NONE = {};
const FAILED = new Set(['failed', 'timed_out', 'interrupted']);
// Read once: each property of the bundled API package is a getter (two, through its re-exports).
const { SERVER, CLIENT, INTERNAL } = SpanKind;
const ERROR = { code: SpanStatusCode.ERROR };
const setSpan = trace.setSpan.bind(trace);
let registered = false;

const bsp = (name: string, fallback: number) => {
  const n = Number(process.env[name]);
  return process.env[name] && n > 0 ? n : fallback;
};

export function startTracing(opts: { url: string; content: boolean; protocol?: 'http/protobuf' | 'http/json'; sampler?: { name: string; ratio: number }; serviceName?: string }): Tracing {
  // No global context manager: on Node 20 its AsyncLocalStorage hooks every promise, which cost
  // more CPU than all the spans. A request's context travels explicitly instead: the HTTP span's
  // context is put in `res.locals.trace`, read into Principal.trace and handed to the runtime.
  if (!registered) {
    registered = true;
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  }
  /** Live run stretches' span ids, for their log lines. */
  const runSpans = new Map<string, { trace_id: string; span_id: string }>();
  const provider = new BasicTracerProvider({
    sampler: sampler(opts.sampler ?? { name: 'parentbased_always_on', ratio: 1 }),
    resource: resourceFromAttributes({ 'service.name': opts.serviceName ?? process.env.OTEL_SERVICE_NAME ?? 'agent-server' }),
    // Unless OTEL_BSP_* says otherwise: small batches sent often, so that a span is exported (and
    // collected) young. Under load, spans kept for the SDK's 5 s, or for batches of 4096, outlive
    // young-generation collections and cost about a point of CPU in old-generation GC; a request
    // per 256 spans costs far less. The queue is larger than the SDK's 2048 so that a slow
    // collector does not drop the spans of a burst.
    spanProcessors: [
      new BatchSpanProcessor(new (opts.protocol === 'http/json' ? OtlpJsonExporter : OtlpProtobufExporter)({ url: opts.url }), {
        maxQueueSize: bsp('OTEL_BSP_MAX_QUEUE_SIZE', 16_384),
        maxExportBatchSize: bsp('OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 256),
        scheduledDelayMillis: bsp('OTEL_BSP_SCHEDULE_DELAY', 200),
      }),
    ],
  });
  const tracer = provider.getTracer('agent-server');
  const content = opts.content;
  const json = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

  const http = (): RequestHandler => (req, res, next) => {
    // Most requests carry no trace context: nothing to extract.
    const parent = req.headers.traceparent === undefined ? ROOT_CONTEXT : propagation.extract(ROOT_CONTEXT, req.headers);
    const span = tracer.startSpan(req.method, { kind: SERVER, attributes: { 'http.request.method': req.method, 'url.path': req.path, 'url.scheme': 'http' } }, parent);
    // 'close' follows 'finish' too, and comes alone when the client went away: one listener.
    res.once('close', () => {
      const route = routeTemplate(req, res.locals);
      if (route !== 'unmatched') {
        span.setAttributes({ 'http.response.status_code': res.statusCode, 'http.route': route });
        span.updateName(`${req.method} ${route}`);
      } else span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus(ERROR);
      span.end();
    });
    res.locals.trace = setSpan(parent, span);
    next();
  };

  const runScope = (info: { runId: string; threadId: string; agentId: string; origin: string; resumed: boolean; parent?: unknown }): RunScope => {
    const parent = (info.parent as Context | undefined) ?? ROOT_CONTEXT;
    const span = tracer.startSpan(`invoke_agent ${info.agentId}`, {
      kind: INTERNAL,
      attributes: {
        'gen_ai.operation.name': 'invoke_agent',
        'gen_ai.provider.name': 'anthropic',
        'gen_ai.agent.id': info.agentId,
        'gen_ai.conversation.id': info.threadId,
        'agentsdk.run.id': info.runId,
        'agentsdk.run.origin': info.origin,
      },
    }, parent);
    if (info.resumed) span.setAttribute('agentsdk.run.resumed', true);
    const t0 = performance.now();
    const ctx: Context = setSpan(parent, span);
    const ids = span.spanContext();
    runSpans.set(info.runId, { trace_id: ids.traceId, span_id: ids.spanId });
    return {
      // Attributes rather than span events: each event is one more object to keep and encode per run.
      began: () => span.setAttribute('agentsdk.run.queue_wait', (performance.now() - t0) / 1000),
      modelCall({ model, step, messages, system, startedAt: c0 }) {
        const call = tracer.startSpan(
          `chat ${model}`,
          {
            kind: CLIENT,
            // A run's first call may go out before its run span starts: never before its parent.
            // (A performance.now() time: OpenTelemetry reads numbers below the time origin so.)
            startTime: Math.max(c0, t0),
            attributes: content
              ? { ...chatAttributes(model, info.threadId, step), ...(messages ? { 'gen_ai.input.messages': json(messages) } : {}), ...(system ? { 'gen_ai.system_instructions': system } : {}) }
              : chatAttributes(model, info.threadId, step),
          },
          ctx,
        );
        return {
          chunk() {
            call.setAttribute('gen_ai.response.time_to_first_chunk', (performance.now() - c0) / 1000);
          },
          end(r) {
            const u = r.usage;
            const a: Attributes = { 'gen_ai.usage.input_tokens': u.input_tokens, 'gen_ai.usage.output_tokens': u.output_tokens };
            // Cache tokens only when the model reported some.
            if (u.cache_read_input_tokens) a['gen_ai.usage.cache_read.input_tokens'] = u.cache_read_input_tokens;
            if (u.cache_creation_input_tokens) a['gen_ai.usage.cache_creation.input_tokens'] = u.cache_creation_input_tokens;
            if (r.responseId) a['gen_ai.response.id'] = r.responseId;
            if (r.stopReason) a['gen_ai.response.finish_reasons'] = [r.stopReason];
            if (content && r.output !== undefined) a['gen_ai.output.messages'] = json([{ role: 'assistant', content: r.output }]);
            call.setAttributes(a);
            if (r.outcome !== 'ok') {
              call.setAttribute('error.type', r.errorStatus ? String(r.errorStatus) : r.outcome === 'cancelled' ? 'cancelled' : (r.errorType ?? 'error'));
              call.setStatus(ERROR);
            }
            call.end();
          },
        };
      },
      toolCall({ name, id, input }) {
        const call = tracer.startSpan(
          `execute_tool ${name}`,
          {
            kind: INTERNAL,
            attributes: {
              'gen_ai.operation.name': 'execute_tool',
              'gen_ai.tool.name': name,
              'gen_ai.tool.call.id': id,
              'gen_ai.tool.type': 'function',
              ...(content && input !== undefined ? { 'gen_ai.tool.call.arguments': json(input) } : {}),
            },
          },
          ctx,
        );
        return {
          end(outcome, output) {
            if (content && output !== undefined) call.setAttribute('gen_ai.tool.call.result', output);
            if (outcome !== 'ok') {
              call.setAttribute('error.type', outcome === 'denied' ? 'denied' : 'tool_error');
              call.setStatus(ERROR);
            }
            call.end();
          },
        };
      },
      approvalsRequested: (n) => span.addEvent('agentsdk.approvals.requested', { count: n }),
      approvalDecided: (approved) => span.addEvent('agentsdk.approval.decided', { approved }),
      finished(status) {
        span.setAttribute('agentsdk.run.status', status);
        if (FAILED.has(status)) {
          span.setAttribute('error.type', status);
          span.setStatus(ERROR);
        }
        span.end();
        runSpans.delete(info.runId);
      },
    };
  };

  return {
    observer: {
      traceId: (parent) => (parent ? trace.getSpan(parent as Context)?.spanContext().traceId : undefined),
      run: runScope,
      commit() {},
    },
    http,
    logFields(fields) {
      return (typeof fields.runId === 'string' && runSpans.get(fields.runId)) || NONE;
    },
    shutdown: () => provider.shutdown(),
  };
}

function chatAttributes(model: string, threadId: string, step: number): Attributes {
  return { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'anthropic', 'gen_ai.request.model': model, 'gen_ai.conversation.id': threadId, 'agentsdk.step': step };
}

/** The standard `OTEL_TRACES_SAMPLER` values (config.ts validates them), from the server's own config rather than the SDK's read of process.env. */
function sampler({ name, ratio }: { name: string; ratio: number }): Sampler {
  const root = name.endsWith('always_off') ? new AlwaysOffSampler() : name.endsWith('traceidratio') ? new TraceIdRatioBasedSampler(ratio) : new AlwaysOnSampler();
  return name.startsWith('parentbased_') ? new ParentBasedSampler({ root }) : root;
}

export type { Span };
