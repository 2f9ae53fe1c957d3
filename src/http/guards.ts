import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { A2A_ERROR_CODE } from '@a2a-js/sdk/errors';
import { TRPCError } from '@trpc/server';
import type { Request, RequestHandler, Response } from 'express';
import type { ErrorCode } from '../../contracts/common.js';
import { AppError, errorBody } from '../errors.js';
import { formatTrpcError } from '../trpc/errors.js';
import { decodeJsonText, MAX_BODY_BYTES, parseJsonText, readRawBody } from './json-body.js';
import { A2A_MAX_BODY_BYTES, httpLimits } from './limits.js';

/** Which error envelope a path's clients read: tRPC's, JSON-RPC's (A2A), or the one error body. */
type Surface = 'trpc' | 'a2a' | 'json';

function surfaceOf(req: Request): Surface {
  // Lower-cased: routing is case-insensitive, so /TRPC/x reaches tRPC too.
  const path = (req.baseUrl + req.path).toLowerCase();
  if (path === '/trpc' || path.startsWith('/trpc/')) return 'trpc';
  if (req.method === 'POST' && (path === '/v1/a2a' || path.startsWith('/v1/a2a/'))) return 'a2a';
  return 'json';
}

const bodyLimitOf = (req: Request) => (surfaceOf(req) === 'a2a' ? A2A_MAX_BODY_BYTES : MAX_BODY_BYTES);

/** JSON-RPC codes for the errors a guard can raise before the A2A handler sees the request. */
const JSON_RPC_CODE: Partial<Record<ErrorCode, number>> = { bad_request: A2A_ERROR_CODE.PARSE_ERROR };

/** Renders `err` the way the path's clients expect; a no-op once the response has started. */
export function sendGuardError(req: Request, res: Response, err: AppError, production: boolean): void {
  if (res.headersSent) return;
  // The rest of the body is not read: the connection cannot carry another request.
  if (err.code === 'payload_too_large' || err.code === 'request_timeout') res.setHeader('connection', 'close');
  const surface = surfaceOf(req);
  if (surface === 'a2a') {
    // As the A2A routes answer body errors: parse errors are JSON-RPC errors over 200, size/time over their status.
    const code = JSON_RPC_CODE[err.code] ?? A2A_ERROR_CODE.INVALID_REQUEST;
    res.status(err.code === 'bad_request' ? 200 : err.status).json({ jsonrpc: '2.0', id: null, error: { code, message: err.message } });
  } else if (surface === 'trpc') {
    const shape = formatTrpcError(new TRPCError({ code: 'BAD_REQUEST', cause: err }), undefined, production);
    res.status(err.status).json({ error: shape });
  } else {
    res.status(err.status).json(errorBody(err, { exposeStack: false }));
  }
}

/**
 * First middleware of the app, for every route alike:
 * - a declared `content-length` over the route's limit is refused 413 before any byte is read;
 * - a body not fully received within the body timeout is answered 408 and the connection closed
 *   (a client that trickles or never sends its body would otherwise hold a request forever);
 * - A2A JSON-RPC bodies are read here with the checks of every JSON body (UTF-8, depth, lone
 *   surrogates); the A2A routes' own JSON parser then sees a finished request and skips.
 */
export function requestGuards(opts: { production: boolean }): RequestHandler {
  return (req, res, next) => {
    const declared = req.headers['content-length'];
    const limit = bodyLimitOf(req);
    if (declared !== undefined && Number(declared) > limit) {
      return sendGuardError(req, res, new AppError('payload_too_large', `request body is larger than ${limit} bytes`), opts.production);
    }
    const hasBody = req.headers['transfer-encoding'] !== undefined || (declared !== undefined && declared !== '0');
    if (hasBody && !req.complete) watchBody(req, res, opts.production);
    if (hasBody && surfaceOf(req) === 'a2a' && isPlainJson(req)) {
      readA2aBody(req, limit).then(
        () => next(),
        (err) => {
          if (err instanceof AppError) sendGuardError(req, res, err, opts.production);
          else if (!res.headersSent) next(err);
        },
      );
      return;
    }
    next();
  };
}

/**
 * 408 + close when the body is not in by the deadline. A route that answered without reading
 * the body (404…) leaves the connection owing it: that connection is closed at the deadline.
 */
function watchBody(req: Request, res: Response, production: boolean): void {
  const ms = httpLimits().bodyTimeoutMs;
  const timer = setTimeout(() => {
    if (req.complete) return;
    sendGuardError(req, res, new AppError('request_timeout', `request body not received within ${ms} ms`), production);
    // Whoever is still reading the body gets an error instead of waiting on.
    if (res.writableFinished || !res.headersSent) req.socket.destroy();
    else res.once('finish', () => req.socket.destroy());
  }, ms);
  // The socket outlives the request (keep-alive): its listener goes with the timer.
  const socket = req.socket;
  const clear = () => {
    clearTimeout(timer);
    req.off('end', clear);
    req.off('aborted', clear);
    socket.off('close', clear);
  };
  req.once('end', clear);
  req.once('aborted', clear);
  socket.once('close', clear);
}

/** What the A2A routes' `express.json()` would parse: `application/json`, UTF-8 (or no charset). */
function isPlainJson(req: IncomingMessage): boolean {
  const [type, ...params] = (req.headers['content-type'] ?? '').split(';').map((p) => p.trim().toLowerCase());
  if (type !== 'application/json') return false;
  const charset = params.find((p) => p.startsWith('charset='))?.slice(8).replace(/"/g, '');
  return charset === undefined || charset === 'utf-8' || charset === 'utf8';
}

async function readA2aBody(req: Request, limit: number): Promise<void> {
  const text = decodeJsonText(await readRawBody(req, limit));
  // Like body-parser: an empty body is `{}` (the JSON-RPC handler then says what is missing).
  req.body = text.trim() === '' ? {} : parseJsonText(text);
}

const REASONS: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 413: 'Payload Too Large', 431: 'Request Header Fields Too Large' };

/**
 * `clientError` of the HTTP server: what Node answers itself (malformed request, headers or URL
 * over 16 KiB, headers or request not received in time) gets the one error body too, instead of
 * an empty 400/431/408. Install with `server.on('clientError', handleClientError)`.
 */
export function handleClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  const code = err.code ?? '';
  // A response already begun on this socket cannot be replaced; a reset peer cannot read one.
  const started = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage?.headersSent;
  if (code === 'ECONNRESET' || !socket.writable || started) {
    socket.destroy();
    return;
  }
  let status = 400;
  let error = 'malformed HTTP request';
  let appCode: ErrorCode = 'bad_request';
  if (code === 'HPE_HEADER_OVERFLOW') {
    status = 431;
    error = 'request line or headers are too large (the limit is 16 KiB)';
  } else if (code === 'ERR_HTTP_REQUEST_TIMEOUT' || code === 'ERR_HTTP_HEADERS_TIMEOUT') {
    status = 408;
    error = 'request not received in time';
    appCode = 'request_timeout';
  } else if (code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') {
    status = 413;
    error = 'chunk extensions are too large';
    appCode = 'payload_too_large';
  }
  const body = JSON.stringify({ error, code: appCode });
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status]}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
  // The peer may never read: do not keep the socket for it.
  socket.once('finish', () => socket.destroy());
}
