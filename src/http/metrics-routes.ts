import { Router, type RequestHandler } from 'express';
import { AppError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import { principalOf } from './auth.js';

/** Prometheus text of the registry. */
export function metricsHandler(metrics: Metrics): RequestHandler {
  return async (_req, res) => {
    const text = await metrics.text();
    res.setHeader('content-type', metrics.contentType);
    res.setHeader('cache-control', 'no-store');
    res.end(text);
  };
}

/**
 * `GET /metrics` on the main listener: administrators only. Anyone else gets the 404 of an unknown
 * route (what the server runs is not theirs to see); no credential at all is already a 401.
 */
export function metricsRoutes(metrics: Metrics): Router {
  const router = Router();
  const serve = metricsHandler(metrics);
  router.get('/metrics', (req, res, next) => {
    if (!principalOf(res).admin) return next(new AppError('not_found', `no route for ${req.method} ${req.path}`));
    return serve(req, res, next);
  });
  return router;
}
