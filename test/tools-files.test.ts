import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { tempDir } from './helpers/server.js';
import { useServer } from './helpers/setup.js';
import { callTool } from './helpers/tools.js';

describe('file tools (workspace confinement)', () => {
  const tmp = tempDir();
  const ws = join(tmp.dir, 'ws');
  const outside = join(tmp.dir, 'outside');

  const app = useServer({
    agents: { agents: { assistant: { workspace: ws, tools: { read_file: 'allow', write_file: 'allow', edit_file: 'allow', list_dir: 'allow', search_files: 'allow' } } } },
    // The workspace, and what lies outside it, exist before the server starts.
    prepare: () => {
      mkdirSync(ws);
      mkdirSync(outside);
      writeFileSync(join(outside, 'secret.txt'), 'TOP SECRET');
      symlinkSync(outside, join(ws, 'escape-dir'));
      symlinkSync(join(outside, 'secret.txt'), join(ws, 'escape-file'));
      symlinkSync(join(outside, 'not-yet.txt'), join(ws, 'dangling'));
      mkdirSync(join(ws, 'docs'));
      writeFileSync(join(ws, 'docs', 'a.txt'), 'alpha\nbeta\ngamma\n');
      symlinkSync(join(ws, 'docs', 'a.txt'), join(ws, 'inner-link'));
    },
  });
  after(() => tmp.cleanup());

  const call = (name: string, input: unknown) => callTool(app.url, app.fake, name, input);

  it('offers exactly the configured tools', async () => {
    await call('list_dir', {});
    assert.deepEqual(app.fake.requests[0].body.tools.map((t: any) => t.name).sort(), ['edit_file', 'list_dir', 'read_file', 'search_files', 'write_file']);
  });

  it('refuses ../ traversal, absolute paths and symlinks leading out, as tool errors', async () => {
    const attempts: Array<[string, unknown, RegExp]> = [
      ['read_file', { path: '../outside/secret.txt' }, /leaves the workspace/],
      ['read_file', { path: 'docs/../../outside/secret.txt' }, /leaves the workspace/],
      ['read_file', { path: join(outside, 'secret.txt') }, /must be relative/],
      ['read_file', { path: 'escape-file' }, /symbolic link/],
      ['read_file', { path: 'escape-dir/secret.txt' }, /symbolic link/],
      ['list_dir', { path: 'escape-dir' }, /symbolic link/],
      ['write_file', { path: 'escape-dir/new.txt', content: 'x' }, /symbolic link/],
      ['write_file', { path: 'dangling', content: 'x' }, /broken symbolic link/],
      ['edit_file', { path: '../outside/secret.txt', old_string: 'TOP', new_string: 'NO' }, /leaves the workspace/],
      ['search_files', { pattern: 'SECRET', path: '..' }, /leaves the workspace/],
    ];
    for (const [name, input, message] of attempts) {
      const r = await call(name, input);
      assert.equal(r.is_error, true, `${name} ${JSON.stringify(input)}`);
      assert.match(r.output, message);
      assert.doesNotMatch(r.output, /TOP SECRET/);
      assert.equal(r.modelSaw.is_error, true);
    }
    assert.equal(readFileSync(join(outside, 'secret.txt'), 'utf8'), 'TOP SECRET');
    assert.throws(() => readFileSync(join(outside, 'new.txt')));
    assert.throws(() => readFileSync(join(outside, 'not-yet.txt')));
  });

  it('reads, writes, edits, lists and searches inside the workspace', async () => {
    assert.equal((await call('read_file', { path: 'docs/a.txt' })).output, 'alpha\nbeta\ngamma\n');
    assert.equal((await call('read_file', { path: 'inner-link' })).output, 'alpha\nbeta\ngamma\n', 'a link that stays inside is fine');
    const w = await call('write_file', { path: 'out/new.txt', content: 'one two one $&' });
    assert.equal(w.is_error, false, w.output);
    assert.equal(readFileSync(join(ws, 'out', 'new.txt'), 'utf8'), 'one two one $&');

    const ambiguous = await call('edit_file', { path: 'out/new.txt', old_string: 'one', new_string: '1' });
    assert.equal(ambiguous.is_error, true);
    assert.match(ambiguous.output, /occurs 2 times/);
    assert.equal((await call('edit_file', { path: 'out/new.txt', old_string: 'two', new_string: '$1' })).is_error, false);
    assert.equal((await call('edit_file', { path: 'out/new.txt', old_string: 'one', new_string: '1', replace_all: true })).is_error, false);
    assert.equal(readFileSync(join(ws, 'out', 'new.txt'), 'utf8'), '1 $1 1 $&');
    assert.match((await call('edit_file', { path: 'out/new.txt', old_string: 'zzz', new_string: '' })).output, /not found/);

    const list = JSON.parse((await call('list_dir', {})).output);
    assert.equal(list.path, '.');
    const byName = Object.fromEntries(list.entries.map((e: any) => [e.name, e.type]));
    assert.equal(byName.docs, 'dir');
    assert.equal(byName['escape-dir'], 'symlink');
    assert.deepEqual(JSON.parse((await call('list_dir', { path: 'docs' })).output).entries, [{ name: 'a.txt', type: 'file', size: 17 }]);

    assert.equal((await call('search_files', { pattern: 'beta' })).output, 'docs/a.txt:2: beta');
    assert.equal((await call('search_files', { pattern: '^g.m', regex: true, path: 'docs' })).output, 'docs/a.txt:3: gamma');
    // Search does not follow links out of the workspace.
    assert.equal((await call('search_files', { pattern: 'SECRET' })).output, 'no matches');
  });

  it('input that does not match the schema is an error without running', async () => {
    const r = await call('write_file', { path: 'x.txt' });
    assert.equal(r.is_error, true);
    assert.match(r.output, /invalid input for write_file: .*content/);
    assert.throws(() => readFileSync(join(ws, 'x.txt')));
  });
});
