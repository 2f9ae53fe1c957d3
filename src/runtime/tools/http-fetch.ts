import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { AddressPolicy } from './address-policy.js';
import type { Tool } from './tool.js';

export const MAX_REDIRECTS = 5;

export interface FetchToolOptions {
  /** AGENTSDK_FETCH_ALLOW entries. */
  allow: string[];
  /** Bodies are cut at this many bytes. */
  maxBytes: number;
  /** Name resolution (default `dns.lookup`); replaceable so tests can play a rebinding DNS server. */
  resolve?: Resolver;
}

/** `dns.lookup` with `all: true`. */
export type Resolver = (hostname: string, options: { all: true; family: number }, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

/**
 * The DNS lookup the request itself uses: every resolved address is checked, so the address
 * checked is the address connected (no second, unchecked resolution).
 */
export function guardedLookup(policy: AddressPolicy, resolve: Resolver): LookupFunction {
  return (hostname, options, callback) => {
    const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : typeof options.family === 'number' ? options.family : 0;
    resolve(hostname, { all: true, family }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      if (!addresses.length) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
      try {
        // Every address is checked: the connection may use any of them (happy eyeballs).
        for (const a of addresses) policy.check(hostname, a.address);
      } catch (refused) {
        return callback(refused as NodeJS.ErrnoException, '', 0);
      }
      if (options.all) (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      else callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

interface Response {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
  truncated: boolean;
}

function requestOnce(url: URL, method: string, headers: Record<string, string>, body: string | undefined, lookup: LookupFunction, policy: AddressPolicy, maxBytes: number, signal: AbortSignal): Promise<Response> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`only http and https URLs can be fetched: ${url.href}`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  // An IP literal is never looked up, so it is checked here.
  if (isIP(host)) policy.check(host, host);
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(url, { method, headers, signal, lookup, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      res.on('data', (chunk: Buffer) => {
        if (truncated) return;
        const room = maxBytes - size;
        if (chunk.length > room) {
          chunks.push(chunk.subarray(0, room));
          size = maxBytes;
          truncated = true;
          res.destroy();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), truncated });
          return;
        }
        chunks.push(chunk);
        size += chunk.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), truncated }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** `http_fetch`: GET/POST over http(s), refusing private destinations on every hop. */
export function createFetchTool(opts: FetchToolOptions): Tool {
  const policy = new AddressPolicy(opts.allow);
  const lookup = guardedLookup(policy, opts.resolve ?? (dnsLookup as unknown as Resolver));
  return {
    name: 'http_fetch',
    description: `Fetches a URL (GET or POST) and returns status, content type and body as text (at most ${opts.maxBytes} bytes). Redirects are followed (up to ${MAX_REDIRECTS}). Private and local network addresses are refused.`,
    input_schema: {
      type: 'object',
      properties: {
        url: { type: 'string', description: 'http(s) URL' },
        method: { type: 'string', enum: ['GET', 'POST'] },
        headers: { type: 'object', additionalProperties: { type: 'string' } },
        body: { type: 'string', description: 'Request body (POST)' },
      },
      required: ['url'],
      additionalProperties: false,
    },
    async execute(input: { url: string; method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string }, ctx) {
      let url = new URL(input.url);
      let method = input.method ?? 'GET';
      let body = method === 'POST' ? (input.body ?? '') : undefined;
      // Framing and encoding are ours to set (bodies are read as they come, not decompressed).
      let headers = Object.fromEntries(
        Object.entries(input.headers ?? {}).filter(([k]) => !['host', 'connection', 'content-length', 'transfer-encoding', 'accept-encoding'].includes(k.toLowerCase())),
      );
      for (let hop = 0; ; hop++) {
        const res = await requestOnce(url, method, headers, body, lookup, policy, opts.maxBytes, ctx.signal);
        const location = res.headers.location;
        if (res.status >= 300 && res.status < 400 && location) {
          if (hop >= MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects`);
          const next = new URL(location, url);
          // As browsers do: credentials are not carried to another origin.
          if (next.origin !== url.origin) headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !['authorization', 'cookie', 'proxy-authorization'].includes(k.toLowerCase())));
          url = next;
          // As browsers do: 303, and 301/302 after POST, continue as GET without the body.
          if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
            method = 'GET';
            body = undefined;
          }
          continue;
        }
        return {
          url: url.href,
          status: res.status,
          content_type: res.headers['content-type'] ?? null,
          // A body with NUL bytes is binary: the model gets its size, not mojibake.
          body: res.body.includes(0) ? `[binary body, ${res.body.length} bytes, not shown]` : res.body.toString('utf8'),
          ...(res.truncated ? { truncated: true, note: `…[body cut at ${opts.maxBytes} bytes; the rest was not read]` } : {}),
        };
      }
    },
  };
}
