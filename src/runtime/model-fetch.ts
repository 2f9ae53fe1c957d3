import { Agent, request, type Dispatcher } from 'undici';

type BodyReadable = Dispatcher.ResponseData['body'];

/**
 * The `fetch` the Anthropic SDK calls, on undici's `request` API instead of WHATWG fetch.
 * Node's fetch wraps every response in web streams; for a streamed model turn that cost about
 * 1 ms of CPU per call (bench/model-call.ts), more than the rest of a run's work in this server.
 * The SDK reads a body through its async iterator when it has one (it was built to accept
 * Node streams), so undici's body stream is handed over as it is.
 */
export function createModelFetch(dispatcher: Dispatcher = new Agent({ keepAliveTimeout: 30_000 })): typeof fetch {
  return async (input, init = {}) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const res = await request(url, {
      method: (init.method ?? 'GET') as Dispatcher.HttpMethod,
      // Iterables of [name, value] pairs are what undici takes; the SDK sends a Headers.
      headers: init.headers instanceof Headers ? init.headers : new Headers(init.headers),
      body: init.body as string | Buffer | null | undefined,
      signal: init.signal ?? undefined,
      dispatcher,
    });
    return new ModelResponse(url, res.statusCode, res.headers, res.body) as unknown as Response;
  };
}

/** The part of `Response` the SDK uses: status, headers, and the body as a stream, text or JSON. */
class ModelResponse {
  readonly headers = new Headers();
  readonly ok: boolean;
  readonly statusText = '';
  readonly redirected = false;
  readonly type = 'basic';

  constructor(
    readonly url: string,
    readonly status: number,
    raw: Dispatcher.ResponseData['headers'],
    readonly body: BodyReadable,
  ) {
    this.ok = status >= 200 && status < 300;
    for (const [name, value] of Object.entries(raw)) {
      if (Array.isArray(value)) for (const v of value) this.headers.append(name, v);
      else if (value !== undefined) this.headers.append(name, value);
    }
  }

  get bodyUsed(): boolean {
    return this.body.bodyUsed;
  }

  text(): Promise<string> {
    return this.body.text();
  }

  json(): Promise<unknown> {
    return this.body.json();
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return this.body.arrayBuffer();
  }
}
