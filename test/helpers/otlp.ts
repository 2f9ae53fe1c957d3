// An OTLP/HTTP receiver for the trace tests: JSON bodies parsed into spans, protobuf bodies kept as bytes.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  events: Array<{ name: string }>;
  status?: { code?: number };
}

export type OtlpReceiver = Awaited<ReturnType<typeof startOtlpReceiver>>;

/** Every span posted to /v1/traces: http/json ones parsed (attributes flattened), protobuf ones as raw bodies. */
export async function startOtlpReceiver() {
  const spans: OtlpSpan[] = [];
  const protobufBodies: Buffer[] = [];
  const contentTypes = new Set<string>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const type = String(req.headers['content-type']);
      contentTypes.add(type);
      if (req.url === '/v1/traces' && type === 'application/x-protobuf') protobufBodies.push(Buffer.concat(chunks));
      else if (req.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        for (const rs of body.resourceSpans ?? []) {
          for (const ss of rs.scopeSpans ?? []) {
            for (const s of ss.spans ?? []) spans.push({ ...s, attributes: flatten(s.attributes), events: s.events ?? [] });
          }
        }
      }
      res.writeHead(200, { 'content-type': type === 'application/x-protobuf' ? type : 'application/json' }).end(type === 'application/x-protobuf' ? undefined : '{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, protobufBodies, contentTypes, close: () => new Promise<void>((r) => server.close(() => r())) };
}

function flatten(attrs: Array<{ key: string; value: Record<string, unknown> }> = []): Record<string, unknown> {
  const value = (v: Record<string, any>): unknown =>
    'stringValue' in v ? v.stringValue : 'intValue' in v ? Number(v.intValue) : 'doubleValue' in v ? v.doubleValue : 'boolValue' in v ? v.boolValue : 'arrayValue' in v ? (v.arrayValue.values ?? []).map(value) : v;
  return Object.fromEntries(attrs.map((a) => [a.key, value(a.value)]));
}
