import assert from 'node:assert/strict';
import { ErrorBody } from '../../contracts/common.js';
import { readJson, sseFrames, type SseFrame } from './http.js';

/** Any method, JSON in and out (`body` undefined = none; a string is sent as it is). */
export async function call(
  url: string,
  method: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return readJson(res);
}

/** The one error shape: exactly the contract's fields, with the expected status and code. */
export function assertError(res: { status: number; body: any }, status: number, code: string): void {
  assert.equal(res.status, status, `status (body: ${JSON.stringify(res.body)})`);
  ErrorBody.strict().parse(res.body);
  assert.equal(res.body.code, code);
  assert.equal(typeof res.body.error, 'string');
}

/** Opens an SSE response and reads frames as they come (`stop()` aborts the request). */
export async function openSse(url: string, init: RequestInit = {}) {
  const ac = new AbortController();
  const res = await fetch(url, { ...init, signal: ac.signal });
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const frames: SseFrame[] = [];
  const done = (async () => {
    try {
      for await (const f of sseFrames(res.body!)) if (f.data) frames.push(f);
    } catch (err) {
      if (!ac.signal.aborted) throw err;
    }
  })();
  return { res, frames, done, stop: () => ac.abort() };
}
