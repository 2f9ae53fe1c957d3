// An OTLP/HTTP receiver for the trace tests: JSON and protobuf bodies decoded into the same spans.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  /** Epoch nanoseconds as a decimal string (how OTLP/JSON writes them). */
  startTimeUnixNano?: string;
  endTimeUnixNano?: string;
  attributes: Record<string, unknown>;
  events: Array<{ name: string }>;
  status?: { code?: number };
  flags?: number;
  /** Its ResourceSpans' resource attributes, and the Content-Type it came with. */
  resource: Record<string, unknown>;
  contentType: string;
}

export type OtlpReceiver = Awaited<ReturnType<typeof startOtlpReceiver>>;

/** Every span posted to /v1/traces (attributes flattened); protobuf bodies are also kept raw. */
export async function startOtlpReceiver() {
  const spans: OtlpSpan[] = [];
  const protobufBodies: Buffer[] = [];
  const contentTypes = new Set<string>();
  const headers: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    headers.push(req.headers);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const type = String(req.headers['content-type']);
      contentTypes.add(type);
      if (req.url === '/v1/traces' && type === 'application/x-protobuf') {
        protobufBodies.push(Buffer.concat(chunks));
        spans.push(...decodeProtobuf(Buffer.concat(chunks)).map((s) => ({ ...s, contentType: type })));
      } else if (req.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        for (const rs of body.resourceSpans ?? []) {
          const resource = flatten(rs.resource?.attributes);
          for (const ss of rs.scopeSpans ?? []) {
            for (const s of ss.spans ?? []) spans.push({ ...s, attributes: flatten(s.attributes), events: s.events ?? [], resource, contentType: type });
          }
        }
      }
      res.writeHead(200, { 'content-type': type === 'application/x-protobuf' ? type : 'application/json' }).end(type === 'application/x-protobuf' ? undefined : '{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, protobufBodies, contentTypes, headers, close: () => new Promise<void>((r) => server.close(() => r())) };
}

function flatten(attrs: Array<{ key: string; value: Record<string, unknown> }> = []): Record<string, unknown> {
  const value = (v: Record<string, any>): unknown =>
    'stringValue' in v ? v.stringValue : 'intValue' in v ? Number(v.intValue) : 'doubleValue' in v ? v.doubleValue : 'boolValue' in v ? v.boolValue : 'arrayValue' in v ? (v.arrayValue.values ?? []).map(value) : v;
  return Object.fromEntries(attrs.map((a) => [a.key, value(a.value)]));
}

// A protobuf wire-format reader (varint, fixed64, length-delimited, fixed32), and the OTLP trace
// messages read with it: field numbers from opentelemetry/proto/trace/v1/trace.proto.
type Field = { n: number; wire: number; v: bigint | Buffer };
function fields(b: Buffer): Field[] {
  const out: Field[] = [];
  let i = 0;
  const varint = () => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const byte = b[i++];
      if (byte === undefined) throw new Error('truncated varint');
      v |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return v;
    }
  };
  while (i < b.length) {
    const key = Number(varint());
    const n = key >>> 3;
    const wire = key & 7;
    if (wire === 0) out.push({ n, wire, v: varint() });
    else if (wire === 1) out.push({ n, wire, v: b.subarray(i, (i += 8)) });
    else if (wire === 5) out.push({ n, wire, v: b.subarray(i, (i += 4)) });
    else if (wire === 2) {
      const len = Number(varint());
      if (i + len > b.length) throw new Error('length past the end');
      out.push({ n, wire, v: b.subarray(i, (i += len)) });
    } else throw new Error(`wire type ${wire}`);
  }
  return out;
}
const bytes = (f: Field) => f.v as Buffer;

function anyValue(b: Buffer): unknown {
  const [f] = fields(b);
  if (!f) return undefined;
  if (f.n === 1) return bytes(f).toString('utf8');
  if (f.n === 2) return f.v === 1n;
  if (f.n === 3) return Number(BigInt.asIntN(64, f.v as bigint));
  if (f.n === 4) return bytes(f).readDoubleLE(0);
  if (f.n === 5) return fields(bytes(f)).filter((x) => x.n === 1).map((x) => anyValue(bytes(x)));
  throw new Error(`AnyValue field ${f.n}`);
}
function keyValues(list: Field[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of list) {
    const parts = fields(bytes(kv));
    const key = parts.find((p) => p.n === 1);
    const value = parts.find((p) => p.n === 2);
    out[bytes(key!).toString('utf8')] = value ? anyValue(bytes(value)) : undefined;
  }
  return out;
}

/** The spans of an ExportTraceServiceRequest. */
export function decodeProtobuf(body: Buffer): Array<Omit<OtlpSpan, 'contentType'>> {
  const spans: Array<Omit<OtlpSpan, 'contentType'>> = [];
  for (const rs of fields(body).filter((f) => f.n === 1)) {
    const parts = fields(bytes(rs));
    const res = parts.find((p) => p.n === 1);
    const resource = res ? keyValues(fields(bytes(res)).filter((f) => f.n === 1)) : {};
    for (const ss of parts.filter((p) => p.n === 2)) {
      for (const sp of fields(bytes(ss)).filter((f) => f.n === 2)) {
        const f = fields(bytes(sp));
        const one = (n: number) => f.find((x) => x.n === n);
        const status = one(15) ? fields(bytes(one(15)!)) : [];
        spans.push({
          traceId: bytes(one(1)!).toString('hex'),
          spanId: bytes(one(2)!).toString('hex'),
          parentSpanId: one(4) ? bytes(one(4)!).toString('hex') : undefined,
          name: bytes(one(5)!).toString('utf8'),
          kind: Number(one(6)?.v ?? 0n),
          startTimeUnixNano: bytes(one(7)!).readBigUInt64LE(0).toString(),
          endTimeUnixNano: bytes(one(8)!).readBigUInt64LE(0).toString(),
          attributes: keyValues(f.filter((x) => x.n === 9)),
          events: f.filter((x) => x.n === 11).map((e) => ({ name: bytes(fields(bytes(e)).find((x) => x.n === 2)!).toString('utf8') })),
          status: { code: Number(status.find((x) => x.n === 3)?.v ?? 0n) },
          flags: one(16) ? bytes(one(16)!).readUInt32LE(0) : undefined,
          resource,
        });
      }
    }
  }
  return spans;
}
