import { connect, type Socket } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  /** The body as text (chunked bodies are decoded). */
  text: string;
  /** The body parsed as JSON, or undefined. */
  json: any;
  /** The server closed the connection after the response. */
  closed: boolean;
  /** How long until the response was complete (or the socket closed). */
  ms: number;
}

/**
 * Sends raw bytes over TCP and reads one HTTP response: for what fetch cannot send (malformed
 * requests, lying content-length, bodies that never arrive). `write(socket)` may keep writing.
 */
export function rawRequest(
  url: string,
  request: string | Buffer | ((socket: Socket) => void),
  opts: { timeoutMs?: number } = {},
): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let buf = Buffer.alloc(0);
    let settled = false;
    const timer = setTimeout(() => finish(new Error(`no complete response within ${opts.timeoutMs ?? 5000} ms (got ${JSON.stringify(buf.toString('latin1').slice(0, 200))})`)), opts.timeoutMs ?? 5000);
    const finish = (err?: Error, res?: RawResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(res!);
    };
    const tryParse = (closed: boolean): boolean => {
      const text = buf.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return false;
      const { status, headers } = parseHead(text.slice(0, end));
      let body = buf.subarray(Buffer.byteLength(text.slice(0, end + 4), 'latin1'));
      if (headers['content-length'] !== undefined) {
        const n = Number(headers['content-length']);
        if (body.length < n) return false;
        body = body.subarray(0, n);
      } else if (headers['transfer-encoding'] === 'chunked') {
        const parts: Buffer[] = [];
        let rest = body;
        for (;;) {
          const nl = rest.indexOf('\r\n');
          if (nl < 0) return false;
          const size = parseInt(rest.subarray(0, nl).toString('latin1'), 16);
          if (size === 0) break;
          if (rest.length < nl + 2 + size + 2) return false;
          parts.push(rest.subarray(nl + 2, nl + 2 + size));
          rest = rest.subarray(nl + 2 + size + 2);
        }
        body = Buffer.concat(parts);
      } else if (!closed) return false;
      const bodyText = body.toString('utf8');
      let json: any;
      try {
        json = JSON.parse(bodyText);
      } catch {
        /* not JSON */
      }
      finish(undefined, { status, headers, text: bodyText, json, closed, ms: Date.now() - start });
      return true;
    };
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      tryParse(false);
    });
    socket.on('error', (err) => {
      if (!tryParse(true)) finish(err);
    });
    socket.on('close', () => {
      if (!tryParse(true)) finish(new Error(`connection closed without a response (got ${JSON.stringify(buf.toString('latin1').slice(0, 200))})`));
    });
    socket.on('connect', () => {
      if (typeof request === 'function') request(socket);
      else socket.write(request);
    });
  });
}

/** A request head for `rawRequest` (Host added). */
export function head(method: string, path: string, headers: Record<string, string | number> = {}): string {
  const lines = [`${method} ${path} HTTP/1.1`, 'host: localhost', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/**
 * Several requests written in one go on one connection (HTTP/1.1 pipelining), so the server
 * reads them in this order within one turn of its event loop; the responses, in order. Each
 * response must carry a content-length (JSON answers do).
 */
export function pipelined(url: string, requests: Array<{ method: string; path: string; body?: string }>, timeoutMs = 10_000): Promise<RawResponse[]> {
  const { hostname, port, host } = new URL(url);
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let buf = Buffer.alloc(0);
    const out: RawResponse[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${out.length} of ${requests.length} responses within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) break;
        const { status, headers } = parseHead(buf.subarray(0, end).toString('latin1'));
        const n = Number(headers['content-length']);
        if (!Number.isFinite(n)) throw new Error(`pipelined(): a response without content-length (status ${status})`);
        if (buf.length < end + 4 + n) break;
        const text = buf.subarray(end + 4, end + 4 + n).toString('utf8');
        buf = buf.subarray(end + 4 + n);
        let json: any;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        out.push({ status, headers, text, json, closed: false, ms: Date.now() - start });
      }
      if (out.length === requests.length) {
        clearTimeout(timer);
        socket.destroy();
        resolve(out);
      }
    });
    socket.write(
      requests
        .map((r) => `${r.method} ${r.path} HTTP/1.1\r\nHost: ${host}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(r.body ?? '')}\r\n\r\n${r.body ?? ''}`)
        .join(''),
    );
  });
}

/** The status line and headers of a response head (the text before its blank line). */
function parseHead(head: string): { status: number; headers: Record<string, string> } {
  const [statusLine, ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers };
}
