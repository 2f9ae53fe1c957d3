// Compiles the server to plain JavaScript in dist/ (what `npm start` runs): no TypeScript
// transpiling at start-up, dependencies bundled so loading them is one file read each, and the
// protocol SDKs split into chunks that load on first use. Then the web console (console/dist/).
// `--if-stale` skips whichever build is newer than its sources.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'dist');
const entry = join(out, 'main.js');

/** The newest modification time under the sources the bundle is made of. */
function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

const ifStale = process.argv.includes('--if-stale');
const stale = (built, sources) => !ifStale || !existsSync(built) || statSync(built).mtimeMs < Math.max(...sources.map((p) => (statSync(p).isDirectory() ? newest(p) : statSync(p).mtimeMs)));

if (stale(entry, [join(root, 'src'), join(root, 'contracts'), join(root, 'package.json')])) await buildServer();
if (stale(join(root, 'console/dist/index.html'), [join(root, 'console/src'), join(root, 'console/index.html'), join(root, 'package.json')])) buildConsole();

function buildConsole() {
  try {
    createRequire(import.meta.url).resolve('vite/package.json');
  } catch {
    // An install without dev dependencies: the server runs, /console answers 503 and says how to build it.
    console.warn('console not built: its build tools (dev dependencies) are not installed');
    return;
  }
  execFileSync('npm', ['run', '--silent', 'build:console'], { cwd: root, stdio: 'inherit' });
}

/**
 * iconv-lite's code-page tables (0.4 MB, read only for a body in a legacy multi-byte charset) stay
 * in node_modules, required from there on first use: bundled, start-up would parse them each time.
 */
function iconvTablesFromNodeModules() {
  return { name: 'iconv-tables', setup };
  function setup(b) {
    b.onResolve({ filter: /^\.\/tables\/[^/]+\.json$/ }, (args) => {
      const at = args.resolveDir.lastIndexOf('/node_modules/');
      if (at < 0 || !/\/iconv-lite\/encodings$/.test(args.resolveDir)) return undefined;
      return { path: `${args.resolveDir.slice(at + '/node_modules/'.length)}/${args.path.slice(2)}`, external: true };
    });
  }
}

/**
 * zod's `z.locales` namespace holds its error messages in ~50 languages (0.37 MB); the server
 * uses English, its default. Bundled, `import { z }` would keep them all in the start-up code.
 */
function zodEnglishOnly() {
  return { name: 'zod-english', setup };
  function setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) => {
      if (!/\/zod\/v4\/(classic|core|mini)$/.test(args.resolveDir)) return undefined;
      return { path: join(args.resolveDir, '../locales/en.js'), namespace: 'zod-english' };
    });
    b.onLoad({ filter: /.*/, namespace: 'zod-english' }, (args) => ({ contents: `export { default as en } from ${JSON.stringify(args.path)};`, resolveDir: root }));
  }
}

/**
 * OpenTelemetry's packages in their ES module builds (`module`; Node's resolution would take the
 * CommonJS `main`). In the CommonJS build every imported name is read through a getter, two
 * through a package's re-exports, on each span: about 0.3% of a traced run's CPU.
 */
function openTelemetryAsEsm() {
  return { name: 'otel-esm', setup };
  function setup(b) {
    b.onResolve({ filter: /^@opentelemetry\/[^/]+$/ }, (args) => {
      // The package's folder as Node finds it: the nearest node_modules up from the importer.
      for (let dir = args.resolveDir; ; dir = dirname(dir)) {
        const manifest = join(dir, 'node_modules', args.path, 'package.json');
        if (existsSync(manifest)) {
          const { module } = JSON.parse(readFileSync(manifest, 'utf8'));
          return module ? { path: join(dirname(manifest), module) } : undefined;
        }
        if (dirname(dir) === dir) return undefined;
      }
    });
  }
}

async function buildServer() {
  rmSync(out, { recursive: true, force: true });
  await build({
    entryPoints: [join(root, 'src/main.ts')],
    outdir: out,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'linked',
    logLevel: 'warning',
    external: [
      'better-sqlite3', // native addon
      'pg-native', // pg's optional native driver
      'swagger-ui-express', // serves swagger-ui-dist's files from its own folder
      'swagger-ui-dist',
    ],
    plugins: [iconvTablesFromNodeModules(), zodEnglishOnly(), openTelemetryAsEsm()],
    // Bundled CommonJS dependencies call require() for Node's built-ins.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  });
}
