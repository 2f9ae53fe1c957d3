// modelEvents reads a streamed Messages API body as the SDK would: through the SDK client and the server's model fetch, against raw SSE bytes served over HTTP.
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { createModelFetch } from '../src/runtime/model-fetch.js';
import { modelEvents } from '../src/runtime/model-stream.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const frame = (event: string, data: unknown, eol = '\n') => `event: ${event}${eol}data: ${JSON.stringify(data)}${eol}${eol}`;
const start = { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, usage: { input_tokens: 3, output_tokens: 0 } } };
const delta = (text: string) => ({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } });

describe('modelEvents (the model stream reader)', () => {
  let url = '';
  const scripts = new Map<string, (res: ServerResponse) => Promise<void>>();
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'request-id': 'req_1' });
      void scripts.get(req.headers['x-script'] as string)!(res);
    });
  });
  before(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const client = () => new Anthropic({ apiKey: 'k', baseURL: url, fetch: createModelFetch(), maxRetries: 0 });
  const open = (script: string, signal?: AbortSignal) =>
    client().messages.create({ model: 'm', max_tokens: 10, stream: true, messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-script': script }, signal }).asResponse();
  const collect = async (res: Response) => {
    const out: unknown[] = [];
    for await (const e of modelEvents(res)) out.push(e);
    return out;
  };

  it('joins a character split across chunks, skips pings and comments, takes CRLF line ends', async () => {
    scripts.set('split', async (res) => {
      const bytes = Buffer.from(frame('message_start', start) + ': comment\n\n' + frame('ping', { type: 'ping' }) + frame('content_block_delta', delta('café ☕'), '\r\n') + frame('message_stop', { type: 'message_stop' }));
      // Cut inside the multi-byte "☕" (and anywhere else), with pauses so each piece is its own chunk.
      const cut = bytes.indexOf(Buffer.from('☕')) + 1;
      for (const piece of [bytes.subarray(0, 7), bytes.subarray(7, cut), bytes.subarray(cut)]) {
        res.write(piece);
        await sleep(20);
      }
      res.end();
    });
    assert.deepEqual(await collect(await open('split')), [start, delta('café ☕'), { type: 'message_stop' }]);
  });

  it('an error event throws the SDK\'s APIError with the error\'s type', async () => {
    scripts.set('error', async (res) => {
      res.end(frame('message_start', start) + frame('content_block_delta', delta('partial')) + frame('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }));
    });
    const seen: unknown[] = [];
    await assert.rejects(
      (async () => {
        for await (const e of modelEvents(await open('error'))) seen.push(e);
      })(),
      (err: unknown) => err instanceof Anthropic.APIError && err.type === 'overloaded_error' && err.status === undefined && /Overloaded/.test(err.message) && err.requestID === 'req_1',
    );
    assert.deepEqual(seen, [start, delta('partial')]);
  });

  it('an aborted request ends the stream without an error', async () => {
    scripts.set('slow', async (res) => {
      res.write(frame('message_start', start));
      for (let i = 0; i < 50 && !res.destroyed; i++) {
        res.write(frame('content_block_delta', delta(`w${i} `)));
        await sleep(20);
      }
      res.end();
    });
    const abort = new AbortController();
    const seen: unknown[] = [];
    for await (const e of modelEvents(await open('slow', abort.signal))) {
      seen.push(e);
      if (seen.length === 3) abort.abort();
    }
    assert.ok(seen.length >= 3 && seen.length < 10, `${seen.length} events before the end`);
  });
});
