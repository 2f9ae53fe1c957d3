/** The web console: the Vite build in console/dist served at /console, with a strict CSP. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { Router } from 'express';
import { AppError } from '../errors.js';
import { pageHeaders } from './page-headers.js';

/**
 * Where `npm run build:console` writes (console/vite.config.ts): the repository's console/dist,
 * found from this module whether it runs as source (src/http/) or bundled (dist/).
 */
const consoleDirs = ['../../console', '../console'].map((rel) => fileURLToPath(new URL(rel, import.meta.url)));
export const CONSOLE_DIST = join(consoleDirs.find((d) => existsSync(join(d, 'vite.config.ts'))) ?? consoleDirs[0], 'dist');

const consoleHeaders = pageHeaders({ inlineStyles: false, dataFonts: false });

export function consoleRoutes(dist = CONSOLE_DIST): Router {
  const r = Router();
  const index = join(dist, 'index.html');
  r.use('/console', consoleHeaders);
  // Checked per request, so a build made after start-up is served without a restart.
  r.use('/console', (_req, _res, next) => {
    if (!existsSync(index)) return next(new AppError('unavailable', 'the console is not built: run `npm run build:console` (npm install does it)'));
    next();
  });
  // Asset URLs are absolute (/console/assets/…); the page itself is /console/.
  r.get('/console', (req, res, next) => (req.originalUrl.split('?')[0] === '/console' ? res.redirect(301, '/console/') : next()));
  // Hashed file names: cached for good; the page is revalidated so a new build shows at once.
  r.use('/console/assets', express.static(join(dist, 'assets'), { index: false, immutable: true, maxAge: '365d', fallthrough: true }));
  r.use('/console/assets', (req, _res, next) => next(new AppError('not_found', `no console asset ${req.originalUrl.split('?')[0]}`)));
  r.use('/console', express.static(dist, { index: false, maxAge: 0 }));
  // Client-side routes (/console/runs/run_…): every other GET is the page.
  r.get(/^\/console(\/.*)?$/, (_req, res) => {
    res.setHeader('cache-control', 'no-cache');
    res.sendFile(index);
  });
  return r;
}
