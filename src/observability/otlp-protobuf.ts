// OTLP/protobuf encoding of span records (ExportTraceServiceRequest), written straight into one buffer per batch.
import type { Attributes } from '@opentelemetry/api';
import { hrTime, type AttributeSink, type AttributeValue, type SpanRecord } from './spans.js';

// Why not the SDK's serializer: it sizes every message in a first pass, then converts each id from
// hex into a new Uint8Array and each attribute from an object; that was two thirds of the traces'
// CPU. Here ids are written from hex in place, keys are encoded once, and the one pass backfills
// each length. Field numbers are those of opentelemetry/proto/trace/v1/trace.proto.

const LEN = 2; // wire type: length-delimited
const VARINT = 0;
const I64 = 1;
const I32 = 5;
const NO_PARENT_REMOTE = 0x100; // SpanFlags: "has is_remote", not remote
const PARENT_REMOTE = 0x300;

/** Each hex digit's value, by char code. */
const HEX = new Uint8Array(128);
for (let i = 0; i < 16; i++) HEX['0123456789abcdef'.charCodeAt(i)] = HEX['0123456789ABCDEF'.charCodeAt(i)] = i;

/** Each attribute key's bytes (KeyValue field 1): the keys are a few dozen constants. */
const KEYS = new Map<string, Buffer>();

export class ProtoWriter implements AttributeSink {
  buf: Buffer;
  pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const bigger = Buffer.allocUnsafe(size);
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  varint(v: number): void {
    this.room(10);
    if (v < 0) return this.bigVarint(BigInt.asUintN(64, BigInt(Math.trunc(v))));
    if (v > 0xffffffff) return this.bigVarint(BigInt(Math.trunc(v)));
    while (v > 0x7f) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
  }

  private bigVarint(v: bigint): void {
    while (v > 0x7fn) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  /** Reserves a one-byte length: `close` fills it in (moving the message along when it needs more). */
  open(field: number): number {
    this.tag(field, LEN);
    this.room(1);
    return this.pos++;
  }

  close(at: number): void {
    const len = this.pos - at - 1;
    if (len < 0x80) {
      this.buf[at] = len;
      return;
    }
    let size = 1;
    for (let v = len; v > 0x7f; v >>>= 7) size++;
    this.room(size - 1);
    this.buf.copyWithin(at + size, at + 1, this.pos);
    this.pos += size - 1;
    let v = len;
    let i = at;
    while (v > 0x7f) {
      this.buf[i++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[i] = v;
  }

  // Most strings and every id are short ASCII: copied in a loop, which costs less than Buffer's
  // native byteLength and write (a call into C++ each, several per attribute).
  string(field: number, s: string): void {
    this.tag(field, LEN);
    const n = s.length;
    if (n < 0x80) {
      this.room(n + 1);
      const b = this.buf;
      let p = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[p++] = c;
      }
      if (i === n) {
        b[this.pos] = n;
        this.pos = p;
        return;
      }
    }
    const len = Buffer.byteLength(s);
    this.varint(len);
    this.room(len);
    this.pos += this.buf.write(s, this.pos);
  }

  /** A trace or span id, from its lowercase hex (as generated, and as the W3C propagator accepts it). */
  hex(field: number, id: string): void {
    this.tag(field, LEN);
    const n = id.length >>> 1;
    this.varint(n);
    this.room(n);
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < 2 * n; i += 2) b[p++] = (HEX[id.charCodeAt(i)] << 4) | HEX[id.charCodeAt(i + 1)];
    this.pos = p;
  }

  /** A performance.now() time as epoch nanoseconds (fixed64). */
  time(field: number, ms: number): void {
    this.tag(field, I64);
    this.room(8);
    const [low, high] = epochNanos(ms);
    this.buf.writeUInt32LE(low, this.pos);
    this.buf.writeUInt32LE(high, this.pos + 4);
    this.pos += 8;
  }

  fixed32(field: number, v: number): void {
    this.tag(field, I32);
    this.room(4);
    this.buf.writeUInt32LE(v >>> 0, this.pos);
    this.pos += 4;
  }

  /** A KeyValue (field 1 of it: the key, encoded once per distinct key). */
  attr(key: string, value: AttributeValue, field = 9): void {
    const kv = this.open(field);
    let k = KEYS.get(key);
    if (k === undefined) {
      const n = Buffer.byteLength(key);
      k = Buffer.allocUnsafe(n + 6);
      k[0] = (1 << 3) | LEN;
      let len = 1;
      for (let v = n; ; v >>>= 7) {
        k[len++] = v > 0x7f ? (v & 0x7f) | 0x80 : v;
        if (v <= 0x7f) break;
      }
      len += k.write(key, len);
      k = k.subarray(0, len);
      if (KEYS.size < 1024) KEYS.set(key, k);
    }
    this.room(k.length);
    this.buf.set(k, this.pos);
    this.pos += k.length;
    const any = this.open(2);
    this.anyValue(value);
    this.close(any);
    this.close(kv);
  }

  private anyValue(value: AttributeValue): void {
    if (typeof value === 'string') this.string(1, value);
    else if (typeof value === 'boolean') {
      this.tag(2, VARINT);
      this.varint(value ? 1 : 0);
    } else if (typeof value === 'number') {
      if (Number.isInteger(value) && Math.abs(value) < 2 ** 63) {
        this.tag(3, VARINT);
        this.varint(value);
      } else {
        this.tag(4, I64);
        this.room(8);
        this.buf.writeDoubleLE(value, this.pos);
        this.pos += 8;
      }
    } else {
      const list = this.open(5);
      for (const v of value) {
        const item = this.open(1);
        this.anyValue(v);
        this.close(item);
      }
      this.close(list);
    }
  }

  attributes(attributes: Attributes, field: number): void {
    for (const key in attributes) {
      const v = attributes[key];
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') this.attr(key, v, field);
      else if (Array.isArray(v)) this.attr(key, v.map(String), field);
    }
  }

  take(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

/**
 * A performance.now() time as epoch nanoseconds, in its low and high 32 bits. 1.7e18 ns is past a
 * double's exact integers, so seconds and nanoseconds are kept apart (as hrTime does) and the
 * seconds multiplied in two 16-bit halves, each product exact.
 */
export function epochNanos(ms: number): [number, number] {
  const [s, ns] = hrTime(ms);
  const upper = Math.floor(s / 0x10000) * 1e9; // × 2^16 below
  const lower = (s % 0x10000) * 1e9 + ns;
  const low = (upper % 0x10000) * 0x10000 + (lower % 0x100000000);
  return [low % 0x100000000, Math.floor(upper / 0x10000) + Math.floor(lower / 0x100000000) + Math.floor(low / 0x100000000)];
}

/** One span message (field 2 of ScopeSpans). */
function writeSpan(w: ProtoWriter, s: SpanRecord): void {
  const at = w.open(2);
  w.hex(1, s.traceId);
  w.hex(2, s.spanId);
  const state = s.traceState?.serialize();
  if (state) w.string(3, state);
  const parent = s.parentSpanContext;
  if (parent) w.hex(4, parent.spanId);
  w.string(5, s.name);
  w.tag(6, VARINT);
  w.varint(s.kind + 1); // the API's SpanKind is the proto's minus one (no UNSPECIFIED)
  w.time(7, s.t0);
  w.time(8, s.t1);
  s.eachAttribute(w);
  for (const e of s.events) {
    const ev = w.open(11);
    w.time(1, e.ms);
    w.string(2, e.name);
    if (e.attributes) w.attributes(e.attributes, 3);
    w.close(ev);
  }
  if (s.status.code !== 0) {
    const st = w.open(15);
    if (s.status.message) w.string(2, s.status.message);
    w.tag(3, VARINT);
    w.varint(s.status.code);
    w.close(st);
  }
  w.fixed32(16, s.traceFlags | (parent?.isRemote ? PARENT_REMOTE : NO_PARENT_REMOTE));
  w.close(at);
}

/** The serializer the OTLP/HTTP export delegate calls: one ResourceSpans, one ScopeSpans, every span of the batch. */
export function protobufSerializer(resource: Attributes, scope: { name: string; version?: string }) {
  let size = 4096;
  return {
    serializeRequest(spans: SpanRecord[]): Uint8Array {
      // A new buffer per request (the last one may still be being sent), sized after the last batch.
      const w = new ProtoWriter(size);
      const rs = w.open(1);
      const res = w.open(1);
      w.attributes(resource, 1);
      w.close(res);
      const ss = w.open(2);
      const sc = w.open(1);
      w.string(1, scope.name);
      if (scope.version) w.string(2, scope.version);
      w.close(sc);
      for (const s of spans) writeSpan(w, s);
      w.close(ss);
      w.close(rs);
      size = Math.max(4096, w.pos + 1024);
      return w.take();
    },
  };
}
