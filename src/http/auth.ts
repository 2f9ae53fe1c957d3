import { isIP } from 'node:net';
import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import { Authenticator } from '../auth/authenticator.js';
import { TokenRejected } from '../auth/jwt.js';
import { LOCAL_PRINCIPAL, PUBLIC_PRINCIPAL, type Principal } from '../auth/principal.js';
import type { Config } from '../config.js';
import { AppError, errorBody, toAppError } from '../errors.js';
import { appRouter } from '../trpc/router.js';
import { readJsonObject } from './json-body.js';
import { hostAllowed, hostnameOf } from './public-url.js';

export { publicBaseUrl } from './public-url.js';
export type { Principal } from '../auth/principal.js';

/** Answer without credentials (GET/HEAD only): probes, the API description, A2A discovery, the console's files. */
const PUBLIC_PATHS = [
  /^\/$/,
  /^\/console(\/.*)?$/,
  /^\/health\/?$/,
  /^\/ready\/?$/,
  /^\/openapi\.json$/,
  /^\/docs(\/.*)?$/,
  /^\/\.well-known\/agent-card\.json$/,
  /^\/v1\/a2a\/\.well-known\/agent-card\.json$/,
  /^\/v1\/a2a\/agents\/[^/]+\/\.well-known\/agent-card\.json$/,
];

export function isPublicRoute(req: Pick<Request, 'method' | 'path'>): boolean {
  return (req.method === 'GET' || req.method === 'HEAD') && PUBLIC_PATHS.some((p) => p.test(req.path));
}

/** GET event streams, where a browser's EventSource cannot send headers: the only routes taking `?access_token=`. */
const STREAM_PATHS = [/^\/v1\/runs\/[^/]+\/events\/?$/, /^\/v1\/ai-sdk\/agents\/[^/]+\/(chats|runs)\/[^/]+\/stream\/?$/];
const SUBSCRIPTIONS = new Set(
  Object.entries(appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>)
    .filter(([, p]) => p._def.type === 'subscription')
    .map(([name]) => name),
);

export function isStreamRoute(req: Pick<Request, 'method' | 'path'>): boolean {
  if (req.method !== 'GET') return false;
  if (STREAM_PATHS.some((p) => p.test(req.path))) return true;
  // tRPC: /trpc/<procedure>, a subscription (queries and batches never are).
  const m = /^\/trpc\/([^/,]+)$/.exec(req.path);
  return m !== null && SUBSCRIPTIONS.has(decodeURIComponent(m[1]));
}

export function isLoopbackAddress(addr: string | undefined): boolean {
  if (!addr) return false;
  const v4 = addr.replace(/^::ffff:/i, '');
  if (isIP(v4) === 4) return v4.startsWith('127.');
  return addr === '::1';
}

/** Headers a proxy adds: behind one, the socket's loopback address says nothing about the real client. */
const FORWARDED = ['forwarded', 'x-forwarded-for', 'x-real-ip'];

/** The principal of this request (set by `authMiddleware`); throws `unauthorized` when the middleware did not run. */
export function principalOf(x: Request | Response): Principal {
  const res = 'headersSent' in x ? (x as Response) : (x as Request).res;
  const p = res?.locals.principal as Principal | undefined;
  if (!p) throw new AppError('unauthorized', 'no principal: the authentication middleware did not run');
  const trace = res?.locals.trace;
  return trace === undefined ? p : { ...p, trace };
}

export interface AuthOptions {
  authenticator: Authenticator;
  config: Pick<Config, 'allowedHosts'>;
  logger: Logger;
}

/**
 * Runs before every route: resolves who is calling and sets `res.locals.principal`, or answers
 * 401 (bad or missing credential, with `WWW-Authenticate: Bearer`) / 403 (protected mode, non-loopback).
 */
export function authMiddleware(opts: AuthOptions): RequestHandler {
  const { authenticator: auth, logger } = opts;
  const debug = logger.isLevelEnabled('debug');

  const refuse = (req: Request, res: Response, err: AppError, reason: string) => {
    logger.info({ method: req.method, path: req.path, status: err.status, reason }, 'request refused');
    if (err.status === 401) res.setHeader('www-authenticate', `Bearer realm="agent-server"${reason === 'missing credential' ? '' : ', error="invalid_token"'}`);
    res.setHeader('cache-control', 'no-store');
    res.status(err.status).json(errorBody(err, { exposeStack: false }));
  };

  const resolve = async (req: Request, res: Response): Promise<Principal | undefined> => {
    const token = takeAccessToken(req);
    if (isPublicRoute(req)) return PUBLIC_PRINCIPAL;
    if (auth.mode === 'none') return LOCAL_PRINCIPAL;
    if (auth.mode === 'loopback') {
      if (!isLoopbackAddress(req.socket.remoteAddress) || FORWARDED.some((h) => req.headers[h] !== undefined)) {
        refuse(req, res, new AppError('forbidden', 'this server has no credentials configured, so it answers loopback clients only; set AGENTSDK_API_KEYS (or AGENTSDK_JWT_*) to serve other addresses'), 'not loopback');
        return undefined;
      }
      // A page on another domain that resolves to 127.0.0.1 (DNS rebinding) must not act as the local admin.
      const browser = req.headers.origin !== undefined || req.headers['sec-fetch-site'] !== undefined;
      if (browser && !hostAllowed(hostnameOf(req.headers.host), opts.config.allowedHosts)) {
        refuse(req, res, new AppError('forbidden', 'Host is not an allowed host (AGENTSDK_ALLOWED_HOSTS)'), 'host not allowed');
        return undefined;
      }
      return LOCAL_PRINCIPAL;
    }
    const credential = auth.credentialOf(req.headers);
    if (credential !== undefined) return auth.verify(credential);
    if (token !== undefined) {
      if (token === null) throw new TokenRejected('access_token outside a GET event stream');
      return auth.streamTokens.verify(token);
    }
    refuse(req, res, new AppError('unauthorized', 'authentication required: send Authorization: Bearer <key or token>, or x-api-key'), 'missing credential');
    return undefined;
  };

  return (req, res, next) => {
    const started = debug ? performance.now() : 0;
    // Mounted routers rewrite req.url; the log names the path as it came in.
    const path = req.path;
    resolve(req, res).then(
      (principal) => {
        if (!principal) return;
        res.locals.principal = principal;
        if (debug) {
          res.once('finish', () =>
            logger.debug({ method: req.method, path, status: res.statusCode, principal: principal.id, ms: Math.round(performance.now() - started) }, 'request'),
          );
        }
        next();
      },
      (err: unknown) => {
        if (err instanceof TokenRejected) return refuse(req, res, err, err.reason);
        const app = toAppError(err);
        if (app.code === 'unavailable') logger.warn({ err: (err as Error).cause ?? err }, 'credential could not be checked');
        else if (app.code === 'internal') logger.error({ err }, 'authentication failed');
        refuse(req, res, app.code === 'internal' ? new AppError('unauthorized', 'invalid credential') : app, app.code);
      },
    );
  };
}

/**
 * `?access_token=` is taken out of the URL (so routes with strict query validation never see it
 * and nothing downstream logs it). Returns the token on a stream route, null elsewhere, undefined when absent.
 */
function takeAccessToken(req: Request): string | null | undefined {
  const q = req.url.indexOf('?');
  if (q < 0 || !req.url.includes('access_token', q)) return undefined;
  const parts = req.url.slice(q + 1).split('&');
  const tokens: string[] = [];
  const rest = parts.filter((p) => {
    const [name, value = ''] = p.split('=');
    if (safeDecode(name) !== 'access_token') return true;
    tokens.push(safeDecode(value));
    return false;
  });
  if (tokens.length === 0) return undefined;
  if (!isStreamRoute(req)) return null;
  req.url = req.url.slice(0, q) + (rest.length ? `?${rest.join('&')}` : '');
  if (tokens.length > 1) throw new TokenRejected('several access tokens');
  return tokens[0];
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/** POST /v1/auth/stream-token: a short-lived token for `?access_token=` on event streams, for the caller itself. */
export function authRoutes(auth: Authenticator): Router {
  const r = Router();
  r.post('/v1/auth/stream-token', async (req, res) => {
    // It takes nothing: refuse what a careless client sends rather than ignore it.
    if (req.url.includes('?')) throw new AppError('bad_request', 'POST /v1/auth/stream-token takes no query parameters');
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    if (hasBody && Object.keys(await readJsonObject(req)).length > 0) throw new AppError('bad_request', 'POST /v1/auth/stream-token takes no body (or `{}`)');
    res.setHeader('cache-control', 'no-store');
    res.json(await auth.streamTokens.issue(principalOf(res)));
  });
  return r;
}
