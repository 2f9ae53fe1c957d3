import { request } from 'node:http';
/** POST JSON and return status + parsed body. */
export async function postJson(url: string, body: unknown, init: RequestInit = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(init.headers as Record<string, string>) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...init,
  });
  return readJson(res);
}

/** Status, headers and the body parsed as JSON (or the text when it is not JSON). */
export async function readJson(res: Response): Promise<{ status: number; body: any; headers: Headers }> {
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* keep text */
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

export interface SseFrame {
  id?: string;
  event?: string;
  data: string;
  /** `data` parsed as JSON when it is JSON. */
  json?: any;
}

/** Reads an SSE body frame by frame (splitting on blank lines, as the spec says). */
export async function* sseFrames(body: ReadableStream<Uint8Array>): AsyncGenerator<SseFrame> {
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    let i: number;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const raw = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const frame: SseFrame = { data: '' };
      const data: string[] = [];
      for (const line of raw.split('\n')) {
        if (line.startsWith(':')) continue;
        const [k, ...rest] = line.split(':');
        const v = rest.join(':').replace(/^ /, '');
        if (k === 'data') data.push(v);
        else if (k === 'id') frame.id = v;
        else if (k === 'event') frame.event = v;
      }
      frame.data = data.join('\n');
      try {
        frame.json = JSON.parse(frame.data);
      } catch {
        /* not JSON */
      }
      yield frame;
    }
  }
}

/** POST and collect every SSE frame until the server ends the stream. */
export async function postSse(url: string, body: unknown): Promise<{ status: number; headers: Headers; frames: SseFrame[]; body?: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.headers.get('content-type')?.startsWith('text/event-stream')) return { status: res.status, headers: res.headers, frames: [], body: await res.json() };
  const frames: SseFrame[] = [];
  for await (const f of sseFrames(res.body!)) frames.push(f);
  return { status: res.status, headers: res.headers, frames };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value (or throws after `timeoutMs`). */
export async function waitFor<T>(fn: () => Promise<T> | T, timeoutMs = 10_000, what = 'condition'): Promise<Exclude<T, false | null | undefined | 0 | ''>> {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v as Exclude<T, false | null | undefined | 0 | ''>;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/**
 * One request through node:http: headers go out exactly as given (Origin and friends, as a
 * browser sends them, which fetch would not), and `localAddress` picks the address it leaves from.
 */
export function nodeRequest(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string; localAddress?: string } = {}) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: opts.method ?? 'GET', headers: opts.headers, localAddress: opts.localAddress }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}
