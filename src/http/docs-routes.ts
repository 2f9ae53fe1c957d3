// The OpenAPI document and Swagger UI over it (loaded on the first request for either).
import { Router } from 'express';
import swaggerUi from 'swagger-ui-express';
import { pageHeaders } from './page-headers.js';
import type { OpenAPIObject } from 'trpc-to-openapi';

const docsHeaders = pageHeaders({ inlineStyles: true, dataFonts: true });

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
