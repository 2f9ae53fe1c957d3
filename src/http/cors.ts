import cors from 'cors';
import type { Request, RequestHandler } from 'express';
import type { Config } from '../config.js';
import { errorBody, AppError } from '../errors.js';

/** What the protocols' browser clients send: tRPC, A2A, AG-UI, AI SDK's DefaultChatTransport, EventSource polyfills. */
export const CORS_ALLOWED_HEADERS = [
  'authorization',
  'x-api-key',
  'content-type',
  'accept',
  'last-event-id',
  'cache-control',
  'a2a-version',
  'a2a-extensions',
  'x-a2a-extensions',
  'x-trpc-source',
  'trpc-accept',
  'user-agent',
];
export const CORS_EXPOSED_HEADERS = ['x-vercel-ai-ui-message-stream', 'etag', 'retry-after', 'www-authenticate', 'a2a-version'];
export const CORS_MAX_AGE_S = 600;

/** Matches `Origin` values against `AGENTSDK_CORS_ORIGINS`: exact origins, `[scheme://]*.domain[:port]` (https by default), `*`. */
export function originMatcher(entries: readonly string[]): (origin: string | undefined) => boolean {
  if (entries.includes('*')) return (o) => o !== undefined && o !== 'null';
  const exact = new Set<string>();
  const patterns: Array<{ protocol: string; suffix: string; port: string }> = [];
  for (const e of entries) {
    const m = /^(?:(https?):\/\/)?\*\.([^:/]+)(?::(\d+))?$/i.exec(e);
    if (m) patterns.push({ protocol: `${(m[1] ?? 'https').toLowerCase()}:`, suffix: `.${m[2].toLowerCase()}`, port: m[3] ?? '' });
    else exact.add(new URL(e).origin);
  }
  return (origin) => {
    if (!origin || origin === 'null') return false;
    let u: URL;
    try {
      u = new URL(origin);
    } catch {
      return false;
    }
    if (exact.has(u.origin)) return true;
    return patterns.some((p) => u.protocol === p.protocol && u.port === p.port && u.hostname.endsWith(p.suffix));
  };
}

/** CORS for every route (preflights included); undefined when no origin is configured: then no CORS header at all. */
export function corsMiddleware(config: Pick<Config, 'corsOrigins'>): RequestHandler | undefined {
  if (config.corsOrigins.length === 0) return undefined;
  const allowed = originMatcher(config.corsOrigins);
  return cors({
    origin: (origin, cb) => cb(null, allowed(origin)),
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: CORS_ALLOWED_HEADERS,
    exposedHeaders: CORS_EXPOSED_HEADERS,
    // Credentials travel in headers, never cookies: no Allow-Credentials, which also keeps `*` safe.
    credentials: false,
    maxAge: CORS_MAX_AGE_S,
    optionsSuccessStatus: 204,
  });
}

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const SIMPLE_TYPES = new Set(['', 'text/plain', 'multipart/form-data', 'application/x-www-form-urlencoded']);

/** A request a page could send cross-origin without a preflight: safelisted content type and no custom header. */
function isSimple(req: Request): boolean {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (!SIMPLE_TYPES.has(type)) return false;
  return !Object.keys(req.headers).some((h) => h === 'authorization' || h.startsWith('x-') || h.startsWith('a2a-') || h.startsWith('trpc-'));
}

/** Same origin: the page was served by this very host (the Host check against DNS rebinding is in auth.ts). */
function sameOrigin(origin: string, req: Request, publicUrl: string | undefined): boolean {
  try {
    const u = new URL(origin);
    return u.host === req.headers.host?.toLowerCase() || (publicUrl !== undefined && u.origin === new URL(publicUrl).origin);
  } catch {
    return false;
  }
}

/**
 * CSRF guard. Browsers send cross-origin "simple" requests without asking first, so CORS alone
 * cannot stop them having effects (e.g. a form POSTing to /v1/runs/:id/cancel). Refused with 403:
 * - a state-changing request from a browser (it sent Origin or Sec-Fetch-Site) that is cross-origin
 *   and either from an origin not allowed, or simple (so it was never preflighted);
 * - any cross-site browser request without an allowed Origin (e.g. <img src> of a subscription URL that starts a run).
 * Non-browser clients (no Origin, no Sec-Fetch-Site) are not affected.
 */
export function crossOriginGuard(config: Pick<Config, 'corsOrigins' | 'publicUrl'>, isPublic: (req: Request) => boolean): RequestHandler {
  const allowed = originMatcher(config.corsOrigins);
  const refuse = (res: Parameters<RequestHandler>[1], message: string) => res.status(403).json(errorBody(new AppError('forbidden', message), { exposeStack: false }));
  return (req, res, next) => {
    const origin = req.headers.origin;
    const site = req.headers['sec-fetch-site'];
    if (origin === undefined && site === undefined) return next();
    if (req.method === 'OPTIONS' || isPublic(req)) return next();
    const cross = origin !== undefined ? !sameOrigin(origin, req, config.publicUrl) : site === 'cross-site' || site === 'same-site';
    if (!cross) return next();
    if (!allowed(origin)) return refuse(res, 'cross-origin request refused: its origin is not in AGENTSDK_CORS_ORIGINS');
    if (UNSAFE_METHODS.has(req.method) && isSimple(req)) {
      return refuse(res, 'cross-origin request refused: send it with content-type: application/json (so the browser asks first)');
    }
    next();
  };
}
