import { Router } from 'express';
import helmet from 'helmet';
import swaggerUi from 'swagger-ui-express';
import type { OpenAPIObject } from 'trpc-to-openapi';

/**
 * Security headers for the HTML (and its assets) the server serves. Swagger UI loads only its
 * own scripts ('self'), but its page and components use inline styles and data: images.
 * No upgrade-insecure-requests: the server is often reached over plain http (localhost), where
 * the browser would then fail every asset and "Try it out" call.
 */
const docsHeaders = helmet({
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:'],
      fontSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
  },
  frameguard: { action: 'deny' },
  referrerPolicy: { policy: 'no-referrer' },
  // The page calls the API of its own origin only; no need to isolate it further.
  crossOriginEmbedderPolicy: false,
  strictTransportSecurity: false,
});

/** The OpenAPI document at /openapi.json and Swagger UI over the same document at /docs. */
export function docsRoutes(doc: OpenAPIObject): Router {
  const r = Router();
  r.get('/openapi.json', (_req, res) => {
    res.json(doc);
  });
  r.use('/docs', docsHeaders);
  // The page loads its assets relatively (./swagger-ui.css): it must be served as /docs/.
  r.get('/docs', (req, res, next) => (req.originalUrl.split('?')[0] === '/docs' ? res.redirect(301, '/docs/') : next()));
  // Assets (and swagger-ui-init.js); what is not one of them falls through.
  r.use('/docs', swaggerUi.serve);
  // The page itself only at /docs/ (and index.html): an unknown asset is a 404, not the page.
  const page = swaggerUi.setup(doc as swaggerUi.JsonObject, { customSiteTitle: 'Agent server API' });
  r.get(['/docs/', '/docs/index.html'], page);
  return r;
}
