import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { editFileTool, listDirTool, readFileTool, searchFilesTool, writeFileTool } from '../src/runtime/tools/files.js';
import type { Tool, ToolContext } from '../src/runtime/tools/tool.js';
import { tempDir } from './helpers/server.js';

/**
 * Turns `path` into a symlink to `target` and back into a real file (or directory) of the
 * workspace, as fast as it can, in its own process so it truly runs alongside the tool: the path
 * checked is a real entry, the one opened a moment later may be the link.
 */
function swapper(kind: 'file' | 'dir', path: string, target: string): ChildProcess {
  const code = `const fs = require('node:fs'); const [kind, path, target] = process.argv.slice(1); const tmp = path + '.swap';
for (;;) {
  try {
    if (kind === 'file') {
      fs.symlinkSync(target, tmp); fs.renameSync(tmp, path);
      fs.writeFileSync(tmp, 'inside text'); fs.renameSync(tmp, path);
    } else {
      fs.renameSync(path, tmp); fs.symlinkSync(target, path); fs.unlinkSync(path);
      // A write may have made a directory in the gap: the real one comes back anyway.
      try { fs.renameSync(tmp, path); } catch { fs.rmSync(path, { recursive: true, force: true }); fs.renameSync(tmp, path); }
    }
  } catch {}
}`;
  return spawn(process.execPath, ['-e', code, kind, path, target], { stdio: 'ignore' });
}

/**
 * A symlink swapped between an inside and an outside target while the file tools run: each call
 * must either act inside or fail, never touch the outside. The tools are called directly (the
 * HTTP path adds nothing here and would make 400 attempts slow).
 */
describe('file tools: no symlink race', { skip: process.platform !== 'linux' }, () => {
  const tmp = tempDir();
  const ws = join(tmp.dir, 'ws');
  const outside = join(tmp.dir, 'outside');
  const ctx: ToolContext = { signal: new AbortController().signal, runId: 'r', threadId: 't', emit() {}, workspace: ws };
  let swap: ChildProcess | undefined;
  const ATTEMPTS = 400;

  before(() => {
    mkdirSync(ws);
    mkdirSync(join(ws, 'docs'));
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret.txt'), 'OUTSIDE SECRET');
    writeFileSync(join(outside, 'only-outside.txt'), 'OUTSIDE SECRET');
    writeFileSync(join(ws, 'file-link'), 'inside text');
    mkdirSync(join(ws, 'dir-link'));
    writeFileSync(join(ws, 'dir-link', 'secret.txt'), 'inside text');
  });
  afterEach(() => swap?.kill('SIGKILL'));
  after(() => tmp.cleanup());

  /** Runs `tool` ATTEMPTS times; returns the outputs (errors as `error: …`) and how many succeeded. */
  const hammer = async (tool: Tool, input: unknown) => {
    const outputs: string[] = [];
    let ok = 0;
    const t0 = Date.now();
    for (let i = 0; i < ATTEMPTS; i++) {
      try {
        const out = await tool.execute(input, ctx);
        outputs.push(typeof out === 'string' ? out : JSON.stringify(out));
        ok++;
      } catch (err) {
        outputs.push(`error: ${(err as Error).message}`);
      }
    }
    assert.ok(Date.now() - t0 < 10_000, `${ATTEMPTS} attempts took ${Date.now() - t0} ms`);
    return { outputs, ok };
  };
  const leaked = (outputs: string[]) => outputs.filter((o) => /OUTSIDE|only-outside/.test(o)).length;
  const outsideUntouched = () => {
    assert.equal(readFileSync(join(outside, 'secret.txt'), 'utf8'), 'OUTSIDE SECRET');
    assert.deepEqual(readdirSync(outside).sort(), ['only-outside.txt', 'secret.txt']);
  };

  it(`a file swapped for a link to an outside file: 0 outside reads in ${ATTEMPTS}, no outside write`, async () => {
    swap = swapper('file', join(ws, 'file-link'), join(outside, 'secret.txt'));
    const read = await hammer(readFileTool, { path: 'file-link' });
    assert.equal(leaked(read.outputs), 0);
    assert.ok(read.ok > 0, 'some reads got the inside file');
    assert.ok(read.outputs.every((o) => o === 'inside text' || /^error: .*symbolic link/.test(o)), [...new Set(read.outputs)].join(' | '));
    await hammer(writeFileTool, { path: 'file-link', content: 'written' });
    await hammer(editFileTool, { path: 'file-link', old_string: 'SECRET', new_string: 'EDITED' });
    outsideUntouched();
  });

  it('a directory swapped for a link to an outside directory: nothing outside is read, listed, searched or written', async () => {
    swap = swapper('dir', join(ws, 'dir-link'), outside);
    const read = await hammer(readFileTool, { path: 'dir-link/secret.txt' });
    assert.equal(leaked(read.outputs), 0);
    assert.ok(read.ok > 0, 'some reads got the inside file');
    assert.equal(leaked((await hammer(listDirTool, { path: 'dir-link' })).outputs), 0);
    assert.equal(leaked((await hammer(searchFilesTool, { pattern: 'SECRET', path: 'dir-link' })).outputs), 0);
    assert.equal(leaked((await hammer(searchFilesTool, { pattern: 'SECRET' })).outputs), 0);
    await hammer(writeFileTool, { path: 'dir-link/new.txt', content: 'written' });
    await hammer(writeFileTool, { path: 'dir-link/sub/new.txt', content: 'written' });
    await hammer(editFileTool, { path: 'dir-link/secret.txt', old_string: 'SECRET', new_string: 'EDITED' });
    outsideUntouched();
  });

  it('links that stay inside still work, for reads and writes', async () => {
    symlinkSync('docs', join(ws, 'inner-dir-link'));
    await writeFileTool.execute({ path: 'inner-dir-link/via-link.txt', content: 'via link' }, ctx);
    assert.equal(readFileSync(join(ws, 'docs', 'via-link.txt'), 'utf8'), 'via link');
    symlinkSync('docs/via-link.txt', join(ws, 'inner-file-link'));
    await writeFileTool.execute({ path: 'inner-file-link', content: 'again' }, ctx);
    assert.equal(await readFileTool.execute({ path: 'inner-file-link' }, ctx), 'again');
    await editFileTool.execute({ path: 'inner-dir-link/via-link.txt', old_string: 'again', new_string: 'edited' }, ctx);
    assert.equal(readFileSync(join(ws, 'docs', 'via-link.txt'), 'utf8'), 'edited');
  });
});
