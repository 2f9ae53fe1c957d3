import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MAX_SHELL_OUTPUT } from '../src/runtime/tools/shell.js';
import { tempDir } from './helpers/server.js';
import { useServer } from './helpers/setup.js';
import { callTool, memoryLogger, offeredTools, processGone, waitFor } from './helpers/tools.js';

describe('shell tool', () => {
  const tmp = tempDir();
  const ws = join(tmp.dir, 'ws');
  const mem = memoryLogger();
  const pids: number[] = [];
  // Registered first, so it runs before the servers stop: no process a test left behind outlives the suite.
  after(() => {
    for (const pid of pids) if (!processGone(pid)) process.kill(pid, 'SIGKILL');
  });

  /** Default configuration: the shell is off. */
  const off = useServer({
    logger: mem.logger,
    agents: { agents: { assistant: { tools: ['current_time', 'shell'] } } },
    // The workspace exists and the server's environment holds a secret before either server starts.
    prepare: () => {
      mkdirSync(ws);
      process.env.SHELL_TEST_SECRET = 'do-not-pass-me';
    },
  });
  /** AGENTSDK_SHELL=on, workspace from AGENTSDK_WORKSPACE, a 1 s limit for shell; the same fake model as `off`. */
  const on = useServer({
    fake: () => off.fake,
    env: { AGENTSDK_SHELL: 'on', AGENTSDK_WORKSPACE: ws },
    agents: { agents: { assistant: { tools: { shell: { timeout_ms: 1000 } } } } },
  });
  after(() => {
    delete process.env.SHELL_TEST_SECRET;
    tmp.cleanup();
  });

  const sh = async (command: string) => {
    const r = await callTool(on.url, off.fake, 'shell', { command });
    return { ...r, json: r.is_error ? undefined : (JSON.parse(r.output) as { exit_code: number | null; stdout: string; stderr: string; signal?: string }) };
  };
  const pidFrom = (file: string) => {
    const pid = Number(readFileSync(join(ws, file), 'utf8').trim());
    assert.ok(pid > 0, `a pid in ${file}`);
    pids.push(pid);
    return pid;
  };

  it('is off by default: an agents file naming it gets a warning, and the model is not offered it', async () => {
    const warning = mem.records.find((r) => r.level === 40 && /"shell" ignored/.test(r.msg));
    assert.ok(warning, 'a start-up warning');
    assert.match(warning.msg, /agents\.assistant\.tools: "shell" ignored: .*AGENTSDK_SHELL=on/);
    const r = await callTool(off.url, off.fake, 'shell', { command: 'echo hi' });
    assert.deepEqual(offeredTools(off.fake, 0), ['current_time']);
    assert.deepEqual([r.is_error, r.output], [true, 'unknown tool: shell']);
  });

  it('runs in the workspace (cwd), without the server environment', async () => {
    const pwd = await sh('pwd && echo made > made.txt');
    assert.deepEqual(pwd.json, { exit_code: 0, stdout: `${realpathSync(ws)}\n`, stderr: '' });
    assert.equal(readFileSync(join(ws, 'made.txt'), 'utf8'), 'made\n');
    assert.equal((await sh('echo "[$SHELL_TEST_SECRET]"')).json!.stdout, '[]\n');
    assert.deepEqual(offeredTools(off.fake, 0), ['shell']);
  });

  it('reports exit code and stderr', async () => {
    assert.deepEqual((await sh('echo oops >&2; exit 7')).json, { exit_code: 7, stdout: '', stderr: 'oops\n' });
  });

  it('has no stdin: cat and read see end of input at once', async () => {
    // With a stdin left open these would wait until the 1 s limit and fail.
    assert.deepEqual((await sh('cat; echo "cat: $?"; read line; echo "read: $?"')).json, { exit_code: 0, stdout: 'cat: 0\nread: 1\n', stderr: '' });
  });

  it('caps output, with a marker', async () => {
    const r = await sh('head -c 100000 /dev/zero | tr "\\0" x; echo done >&2');
    assert.equal(r.json!.stdout, `${'x'.repeat(MAX_SHELL_OUTPUT)}\n…[${100_000 - MAX_SHELL_OUTPUT} more bytes dropped]`);
    assert.equal(r.json!.stderr, 'done\n');
  });

  it('a command over its time limit is killed, with its children, and the model sees an error', async () => {
    const r = await sh('echo $$ > shell.pid; sleep 30 & echo $! > child.pid; wait');
    assert.deepEqual([r.is_error, r.output], [true, 'tool timed out after 1000 ms']);
    assert.deepEqual([r.modelSaw.is_error, r.modelSaw.content], [true, 'tool timed out after 1000 ms']);
    const shell = pidFrom('shell.pid');
    const child = pidFrom('child.pid');
    await waitFor('the shell to be killed', () => processGone(shell), 2_000);
    await waitFor('its background child to be killed', () => processGone(child), 2_000);
  });

  it('background processes do not outlive a command that finished', async () => {
    const r = await sh('sleep 30 > /dev/null 2>&1 & echo $! > bg.pid; echo started');
    assert.deepEqual(r.json, { exit_code: 0, stdout: 'started\n', stderr: '' });
    const bg = pidFrom('bg.pid');
    await waitFor('the background process to be killed', () => processGone(bg), 2_000);
  });
});
