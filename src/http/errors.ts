import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { AppError, errorBody, toAppError } from '../errors.js';

export function notFound(): RequestHandler {
  return (req, _res, next) => next(new AppError('not_found', `no route for ${req.method} ${req.path}`));
}

/** Renders every error in the one shape; internal errors are logged, never their details sent in production. */
export function errorHandler(logger: Logger, production: boolean): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const appErr = fromExpress(err);
    if (appErr.code === 'internal') logger.error({ err, method: req.method, path: req.path }, 'request failed');
    if (res.headersSent) {
      res.end();
      return;
    }
    if (appErr.code === 'payload_too_large' || appErr.code === 'request_timeout') res.setHeader('connection', 'close');
    for (const [name, value] of Object.entries(appErr.headers ?? {})) res.setHeader(name, value);
    res.status(appErr.status).json(errorBody(appErr, { exposeStack: !production }));
  };
}

/** Errors raised by Express, its router or body-parser carry an HTTP status; keep their meaning. */
function fromExpress(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const e = err as { status?: number; type?: string; message?: string };
  if (e?.type === 'entity.too.large' || e?.status === 413) return new AppError('payload_too_large', 'request body is too large');
  if (e?.type === 'entity.parse.failed') return new AppError('bad_request', `request body is not valid JSON`);
  if (e?.status === 415) return new AppError('unsupported_media_type', e.message ?? 'unsupported content type');
  // The router decoding a path parameter (`%zz`, `%FF`, `%C0%AF`), or anyone's decodeURIComponent.
  if (err instanceof URIError) return new AppError('bad_request', `malformed percent-encoding in the URL: ${err.message}`);
  if (e?.status === 408) return new AppError('request_timeout', 'request body not received in time');
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) return new AppError(e.status === 404 ? 'not_found' : 'bad_request', e.message || 'bad request');
  return toAppError(err);
}
