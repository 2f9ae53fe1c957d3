// Security headers for the HTML the server serves (Swagger UI at /docs, the console at /console).
import helmet from 'helmet';
import type { RequestHandler } from 'express';

/**
 * Scripts, styles and calls from 'self' only. `inlineStyles`: Swagger UI's page and components
 * style inline (the console does not: React sets styles through the CSSOM, which CSP does not
 * block). No upgrade-insecure-requests: the server is often reached over plain http (localhost),
 * where the browser would then fail every asset and call.
 */
export function pageHeaders(opts: { inlineStyles: boolean; dataFonts: boolean }): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: opts.inlineStyles ? ["'self'", "'unsafe-inline'"] : ["'self'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: opts.dataFonts ? ["'self'", 'data:'] : ["'self'"],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    // The pages call the API of their own origin only; no need to isolate them further.
    crossOriginEmbedderPolicy: false,
    strictTransportSecurity: false,
  });
}
