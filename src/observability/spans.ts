// Spans as plain records, queued and handed in batches to an OTLP exporter (which encodes and sends them).
import type { Attributes, HrTime, SpanContext, SpanKind, SpanStatus, TraceState } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, SpanExporter, TimedEvent } from '@opentelemetry/sdk-trace-base';
import { randomHex } from '../ids.js';

// Why not the SDK's tracer: its spans validate each attribute as it is set, take the time as an
// HrTime at once, and go through a sampler, a processor and a context object each; a request's few
// spans then cost more than the rest of tracing. A record here holds the values its attributes are
// made of and hands them out when exported (eachAttribute), in the loop over a batch. The JSON
// exporter reads it as the SDK's ReadableSpan; protobuf is encoded by otlp-protobuf.ts.

export type AttributeValue = string | number | boolean | string[];

/** Where a span's attributes go, one at a time: the protobuf writer, or an object for the JSON exporter. */
export interface AttributeSink {
  attr(key: string, value: AttributeValue): void;
}

/** A span event, with its performance.now() time for the protobuf encoder. */
export interface SpanEvent extends TimedEvent {
  ms: number;
}
const UNSET: SpanStatus = { code: 0 };
const NO_EVENTS: SpanEvent[] = [];
const NO_LINKS: ReadableSpan['links'] = [];
/** The instrumentation scope of every span. */
export const SCOPE = { name: 'agent-server' };
/** The W3C `sampled` trace flag: set on every recorded span's context. */
export const SAMPLED = 1;

// performance.now() times to [seconds, nanoseconds] since the epoch, without losing the
// sub-millisecond part to a sum of 1.7e12 ms.
const ORIGIN = performance.timeOrigin;
const ORIGIN_S = Math.floor(ORIGIN / 1000);
const ORIGIN_NS = Math.round((ORIGIN - ORIGIN_S * 1000) * 1e6);

export function hrTime(ms: number): HrTime {
  const s = Math.floor(ms / 1000);
  const ns = ORIGIN_NS + Math.round((ms - s * 1000) * 1e6);
  return ns >= 1e9 ? [ORIGIN_S + s + 1, ns - 1e9] : [ORIGIN_S + s, ns];
}

/** A random id; an all-zero one is invalid (W3C trace context), and at these odds drawing again is simplest. */
function randomId(zero: string): string {
  const id = randomHex(zero.length / 2);
  return id !== zero ? id : randomId(zero);
}
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);
export const newTraceId = () => randomId(ZERO_TRACE);
export const newSpanId = () => randomId(ZERO_SPAN);

/** The context of a span that is not recorded: ids only (a run stores its trace id, log lines carry both). */
export function unrecorded(traceId: string, traceState?: TraceState): SpanContext {
  return { traceId, spanId: newSpanId(), traceFlags: 0, traceState };
}

/**
 * A recorded span, started at `t0` and ended by `end()`. It is its own SpanContext (what children
 * and requests pass on), and the exporters read it as a ReadableSpan.
 */
export abstract class SpanRecord implements ReadableSpan, SpanContext {
  readonly spanId = newSpanId();
  readonly traceFlags = SAMPLED;
  status: SpanStatus = UNSET;
  events: SpanEvent[] = NO_EVENTS;
  t1 = -1;

  constructor(
    readonly kind: SpanKind,
    readonly traceId: string,
    readonly parentSpanContext: SpanContext | undefined,
    readonly t0: number,
    readonly resource: Resource,
  ) {}

  abstract get name(): string;
  /** Each attribute of the span, as it stands. */
  abstract eachAttribute(sink: AttributeSink): void;

  get attributes(): Attributes {
    const a: Attributes = {};
    this.eachAttribute({ attr: (key: string, value: AttributeValue) => (a[key] = value) });
    return a;
  }

  get traceState(): TraceState | undefined {
    return this.parentSpanContext?.traceState;
  }
  spanContext(): SpanContext {
    return this;
  }
  get startTime(): HrTime {
    return hrTime(this.t0);
  }
  get endTime(): HrTime {
    return hrTime(this.t1);
  }
  get duration(): HrTime {
    const ms = this.t1 - this.t0;
    return [Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)];
  }
  get ended(): boolean {
    return this.t1 >= 0;
  }
  get links(): ReadableSpan['links'] {
    return NO_LINKS;
  }
  get instrumentationScope(): { name: string } {
    return SCOPE;
  }
  get droppedAttributesCount(): number {
    return 0;
  }
  get droppedEventsCount(): number {
    return 0;
  }
  get droppedLinksCount(): number {
    return 0;
  }

  /** Ended now, and queued for export. */
  finish(batcher: SpanBatcher): void {
    this.t1 = performance.now();
    batcher.add(this);
  }

  addEvent(name: string, attributes: Attributes): void {
    const ms = performance.now();
    const event = { name, attributes, ms, time: hrTime(ms), droppedAttributesCount: 0 };
    this.events = this.events === NO_EVENTS ? [event] : [...this.events, event];
  }
}

export interface BatchOptions {
  maxQueueSize: number;
  maxExportBatchSize: number;
  scheduledDelayMillis: number;
}

/** Ended spans, exported a batch at a time: when a batch is full, or `scheduledDelayMillis` after the first queued one. */
export class SpanBatcher {
  private queue: SpanRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly sending = new Set<Promise<void>>();

  constructor(
    private readonly exporter: SpanExporter,
    private readonly opts: BatchOptions,
  ) {}

  add(span: SpanRecord): void {
    // A full queue (a collector slower than the spans come) drops the span, as OpenTelemetry's batch processor does.
    if (this.queue.length >= this.opts.maxQueueSize) return;
    this.queue.push(span);
    if (this.queue.length >= this.opts.maxExportBatchSize) this.sendOne();
    else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        while (this.queue.length > 0) this.sendOne();
      }, this.opts.scheduledDelayMillis);
      this.timer.unref();
    }
  }

  /** Every queued span sent, and every send settled. */
  async flush(): Promise<void> {
    while (this.queue.length > 0) this.sendOne();
    await Promise.all(this.sending);
  }

  async shutdown(): Promise<void> {
    await this.flush();
    await this.exporter.shutdown();
  }

  private sendOne(): void {
    const batch = this.queue.splice(0, this.opts.maxExportBatchSize);
    if (this.queue.length === 0) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    // The exporter reports a failed export itself (OpenTelemetry's diag logger); it is not retried here.
    const sent: Promise<void> = new Promise<void>((resolve) => this.exporter.export(batch, (_: ExportResult) => resolve())).finally(() => this.sending.delete(sent));
    this.sending.add(sent);
  }
}
