import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { processStartTime } from '../src/runtime/tools/tool-processes.js';
import { startFakeAnthropic, type FakeAnthropic } from './fixtures/fake-anthropic.js';
import { postJson } from './helpers/http.js';
import { spawnServer, tempDir, type SpawnedServer } from './helpers/server.js';
import { processGone, waitFor } from './helpers/tools.js';

/** Live (not zombie) processes, from /proc: pid, ppid, process group, command line. */
function processes(): Array<{ pid: number; ppid: number; pgrp: number; cmdline: string[] }> {
  const out = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state, ppid, pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state === 'Z' || state === 'X') continue;
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      out.push({ pid: Number(name), ppid: Number(ppid), pgrp: Number(pgrp), cmdline });
    } catch {
      /* exited while scanning */
    }
  }
  return out;
}
const groupMembers = (pgid: number) => processes().filter((p) => p.pgrp === pgid);

describe('tool processes do not outlive the server (Linux)', { skip: process.platform !== 'linux' }, () => {
  let fake: FakeAnthropic;
  const tmp = tempDir();
  const ws = join(tmp.dir, 'ws');
  const records = join(tmp.dir, 'tool-processes');
  const strays: ChildProcess[] = [];
  const groups: number[] = [];
  let srv: SpawnedServer | undefined;

  before(async () => {
    mkdirSync(ws);
    fake = await startFakeAnthropic();
  });
  after(async () => {
    for (const g of groups) {
      try {
        process.kill(-g, 'SIGKILL');
      } catch {
        /* gone, as it should be */
      }
    }
    for (const s of strays) s.kill('SIGKILL');
    srv?.proc.kill('SIGKILL');
    await fake.close();
    tmp.cleanup();
  });
  beforeEach(() => fake.reset());

  const start = () =>
    spawnServer({
      dir: tmp.dir,
      modelUrl: fake.url,
      env: { AGENTSDK_SHELL: 'on', AGENTSDK_WORKSPACE: ws },
      agents: { agents: { assistant: { tools: { shell: { timeout_ms: 60_000 } } } } },
    });

  /** Starts a run whose shell call records its group id and sleeps (leader and a background child); resolves with the group id once both run. */
  const runSleeper = async (server: SpawnedServer, file: string) => {
    fake.enqueue({ content: [{ type: 'tool_use', id: 'toolu_1', name: 'shell', input: { command: `echo $$ > ${file}; sleep 30 & sleep 30` } }] }, { content: [{ type: 'text', text: 'done' }] });
    void postJson(`${server.url}/v1/run`, { prompt: 'go' }).catch(() => {}); // it dies with the server
    const pgid = await waitFor('the shell to start', () => existsSync(join(ws, file)) && Number(readFileSync(join(ws, file), 'utf8').trim()), 10_000);
    groups.push(pgid);
    await waitFor('leader and child to run', () => groupMembers(pgid).length >= 2);
    return pgid;
  };

  it('kill -9 of the server: the tool process group is gone within a second', async () => {
    srv = await start();
    const pgid = await runSleeper(srv, 'g1.pid');
    assert.ok(groupMembers(pgid).length >= 2);
    srv.proc.kill('SIGKILL');
    await srv.exited;
    const t0 = Date.now();
    await waitFor(`no process left in group ${pgid}`, () => groupMembers(pgid).length === 0, 1_000);
    assert.ok(Date.now() - t0 < 1_000);
    srv = undefined;
  });

  it('a group whose watchdog died with the server is killed by the next start-up; a reused pid is not', async () => {
    srv = await start();
    const pgid = await runSleeper(srv, 'g2.pid');
    // Waited for: the watchdog is spawned just after the group, and until its exec /proc shows the server's command line.
    const watchdog = await waitFor(`a watchdog for group ${pgid} under server ${srv.proc.pid}`, () =>
      processes().find((p) => p.ppid === srv!.proc.pid && p.cmdline.includes('agent-server-tool-watchdog') && p.cmdline.includes(String(pgid))),
    );
    const record = readdirSync(records).find((n) => n.endsWith(`.${pgid}-${processStartTime(pgid)}`));
    assert.ok(record, `a record for group ${pgid} in ${readdirSync(records)}`);
    // Both die at once (as when a whole container is killed): nothing is left to stop the group.
    process.kill(watchdog.pid, 'SIGKILL');
    srv.proc.kill('SIGKILL');
    await srv.exited;
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(groupMembers(pgid).length >= 1, 'the leftover is still there before the restart');

    // A record naming a pid that now belongs to another process (other start time) must not kill it.
    const decoy = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    strays.push(decoy);
    await waitFor('the decoy to start', () => processStartTime(decoy.pid!));
    const owner = record.split('.').slice(0, 2).join('.'); // boot id and the dead server
    const decoyRecord = `${owner}.${decoy.pid}-${Number(processStartTime(decoy.pid!)) + 1}`;
    writeFileSync(join(records, decoyRecord), '');

    srv = await start();
    await waitFor(`the leftover group ${pgid} to be killed`, () => groupMembers(pgid).length === 0, 2_000);
    assert.equal(processGone(decoy.pid!), false, 'the process behind a reused pid lives');
    assert.deepEqual(readdirSync(records), [], 'both records removed');
    assert.ok(srv.logs.some((l) => l.includes('killed tool processes left by a previous server process')));
  });
});
