// One middleware and one 'close' listener per response for every HTTP observer (metrics, traces).
import type { Request, RequestHandler, Response } from 'express';

/** What watches each HTTP exchange: its start, before any other middleware, and its response's close. */
export interface HttpObserver {
  start(req: Request, res: Response): void;
  /** 'close' follows 'finish' too, and comes alone when the client went away. */
  closed(res: Response): void;
}

/**
 * The observers as one middleware (none: undefined). One listener rather than one each: every
 * `res.on` grows the response's listener list, and every middleware is one more pass through the
 * router, on every request.
 */
export function observeHttp(observers: HttpObserver[]): RequestHandler | undefined {
  if (observers.length === 0) return undefined;
  // In order at both ends: the first (tracing) sets what a later one may read.
  const closed = function (this: Response) {
    for (const o of observers) o.closed(this);
  };
  return (req, res, next) => {
    for (const o of observers) o.start(req, res);
    res.on('close', closed);
    next();
  };
}
