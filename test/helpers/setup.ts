/**
 * One server per suite, set up the same way everywhere.
 *
 * `useServer()` registers node:test hooks in the calling `describe` (or at file level):
 * `before` starts the fake Anthropic server (unless `fake: false`) and then the real server
 * with `startTestServer()`; `beforeEach` resets the fake; `after` stops the server, then the
 * fake. The returned handle's fields are getters, valid once that `before` hook ran:
 *
 *   for (const dialect of dialects()) describe(`thing [${dialect}]`, () => {
 *     const app = useServer({ dialect, agents: AGENTS });
 *     it('answers', async () => {
 *       app.fake.enqueue({ content: [{ type: 'text', text: 'hi' }] });
 *       const res = await postJson(`${app.url}/v1/run`, { prompt: 'hello' });
 *       assert.equal((await app.server.store.runs.get(res.body.run_id))?.status, 'completed');
 *     });
 *   });
 *
 * node:test runs hooks of one kind in the order they were registered: a suite's own `before`
 * registered after `useServer()` can already use `app.server` (seed rows, open a client...), and
 * its own `after` runs once the server has stopped (register it first to run before).
 * `startTestServer()` stays the tool for servers a single test starts and stops itself.
 */
import { after, before, beforeEach } from 'node:test';
import { startFakeAnthropic, type FakeAnthropic } from '../fixtures/fake-anthropic.js';
import type { Dialect } from './databases.js';
import { startTestServer, type TestServer, type TestServerOptions } from './server.js';

export interface UseServerOptions extends TestServerOptions {
  /** Default `'sqlite'`. */
  dialect?: Dialect;
  /**
   * `true` (default unless `noCredentials`): start a fake Anthropic server of its own and use it
   * as `modelUrl`. A function: use that fake (started by someone else, e.g. another handle's:
   * `fake: () => other.fake`); it is reset before each test but not closed here. `false`: none.
   */
  fake?: boolean | (() => FakeAnthropic);
  /** Reset the fake before each test (default `true`); `false` keeps its requests across the suite's tests. */
  resetFake?: boolean;
  /**
   * Runs in the `before` hook once the fake is up and before the server starts (make the
   * directories its agents file points at...); what it returns is merged into the options.
   */
  prepare?: (fake: FakeAnthropic | undefined) => void | TestServerOptions | Promise<void | TestServerOptions>;
}

export interface ServerHandle {
  /** The running server (store, runtime, close...). */
  readonly server: TestServer;
  /** Base URL of the server, e.g. `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** The fake Anthropic server the model calls go to (throws with `fake: false`). */
  readonly fake: FakeAnthropic;
  /** The server's temporary directory. */
  readonly dir: string;
}

/** Start a server (and a fake model) for the enclosing suite; see the top of this file. */
export function useServer(opts: UseServerOptions = {}): ServerHandle {
  const { fake: wantFake = !opts.noCredentials, resetFake = true, prepare, ...serverOpts } = opts;
  let server: TestServer | undefined;
  let fake: FakeAnthropic | undefined;

  before(async () => {
    if (typeof wantFake === 'function') fake = wantFake();
    else if (wantFake) fake = await startFakeAnthropic();
    const extra = (await prepare?.(fake)) ?? {};
    server = await startTestServer({ ...(fake && !serverOpts.noCredentials ? { modelUrl: fake.url } : {}), ...serverOpts, ...extra });
  });
  if (resetFake) beforeEach(() => fake?.reset());
  after(async () => {
    await server?.stop();
    if (wantFake === true) await fake?.close();
  });

  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`useServer(): ${what} is not available (read it in a test or hook, once the suite's before hook ran)`);
    return value;
  };
  return {
    get server() {
      return need(server, 'the server');
    },
    get url() {
      return need(server, 'the server').url;
    },
    get fake() {
      return need(fake, 'the fake Anthropic server (fake: false?)');
    },
    get dir() {
      return need(server, 'the server').dir;
    },
  };
}
