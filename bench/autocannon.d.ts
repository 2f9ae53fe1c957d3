// autocannon ships no types; this covers the part of its programmatic API the bench uses.
declare module 'autocannon' {
  interface Histogram {
    mean: number;
    p50: number;
    p99: number;
    total: number;
  }

  interface Options {
    url: string;
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    connections?: number;
    duration?: number;
    /** Cycled through in order by every connection. */
    requests?: Request[];
  }

  interface Request {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string;
    /** Called before each request is sent; what it returns is sent. */
    setupRequest?: (req: Request) => Request;
  }

  interface Result {
    latency: Histogram;
    requests: Histogram & { sent: number };
    errors: number;
    timeouts: number;
    non2xx: number;
    '2xx': number;
  }

  function autocannon(opts: Options, cb: (err: Error | null, result: Result) => void): unknown;
  namespace autocannon {
    export type { Options, Request, Result };
  }
  export = autocannon;
}
