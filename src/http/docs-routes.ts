import { Router } from 'express';
import swaggerUi from 'swagger-ui-express';
import type { OpenAPIObject } from 'trpc-to-openapi';

/** The OpenAPI document at /openapi.json and Swagger UI over the same document at /docs. */
export function docsRoutes(doc: OpenAPIObject): Router {
  const r = Router();
  r.get('/openapi.json', (_req, res) => {
    res.json(doc);
  });
  // The page loads its assets relatively (./swagger-ui.css): it must be served as /docs/.
  r.get('/docs', (req, res, next) => (req.originalUrl.split('?')[0] === '/docs' ? res.redirect(301, '/docs/') : next()));
  r.use('/docs', swaggerUi.serve, swaggerUi.setup(doc as swaggerUi.JsonObject, { customSiteTitle: 'Agent server API' }));
  return r;
}
