import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startMcpHttpServer, type McpHttpFixture } from './fixtures/mcp-http-server.js';
import { tempDir } from './helpers/server.js';
import { useServer } from './helpers/setup.js';
import { callTool, callTools, memoryLogger, offeredTools, processGone, stdioFixture, waitFor } from './helpers/tools.js';

describe('MCP servers (stdio and streamable HTTP)', () => {
  const tmp = tempDir();
  const startLog = join(tmp.dir, 'stdio-starts.log');
  const mem = memoryLogger();
  let mcpHttp: McpHttpFixture | undefined;

  const app = useServer({
    logger: mem.logger,
    // The streamable HTTP server runs before the agents file can name its URL.
    prepare: async () => {
      mcpHttp = await startMcpHttpServer();
      return {
        agents: {
          agents: {
            assistant: {
              // local: every tool but `fail`; remote: denied by default, only echo and stats allowed.
              tools: { local__fail: 'deny', remote__echo: 'allow', remote__stats: 'allow' },
              mcp_servers: {
                local: stdioFixture({ env: { MCP_FIXTURE_LOG: startLog } }),
                remote: { url: mcpHttp.url, policy: 'deny' },
                broken: { command: join(tmp.dir, 'no-such-mcp-server') },
                crashing: { command: process.execPath, args: ['-e', 'process.exit(1)'] },
                down: { url: 'http://127.0.0.1:9/mcp' },
              },
            },
          },
        },
      };
    },
  });
  after(async () => {
    await mcpHttp?.close();
    tmp.cleanup();
  });

  const call = (name: string, input: unknown = {}) => callTool(app.url, app.fake, name, input);
  const stats = async (tool: 'local__stats' | 'remote__stats') => {
    const r = await call(tool);
    assert.equal(r.is_error, false, r.output);
    return JSON.parse(r.output) as { pid: number; calls: Record<string, number>; sessions?: number };
  };
  const starts = () => readFileSync(startLog, 'utf8').trim().split('\n');
  const closedWarnings = () => mem.records.filter((r) => r.level === 40 && r.mcp_server === 'local' && /connection closed/.test(r.msg)).length;

  it('reports each server that fails to start, by name, and leaves its tools out', async () => {
    for (const name of ['broken', 'crashing', 'down']) {
      const rec = mem.records.find((r) => r.level === 40 && r.mcp_server === name);
      assert.ok(rec, `a warning naming ${name}`);
      assert.match(rec.msg, new RegExp(`MCP server "${name}" failed to start`));
    }
    for (const name of ['local', 'remote']) assert.ok(mem.records.some((r) => r.level === 30 && r.mcp_server === name && r.msg === 'MCP server connected'), name);

    await call('local__echo', { text: 'hi' });
    assert.deepEqual(offeredTools(app.fake, 0), [
      'local__add',
      'local__big',
      'local__echo',
      'local__exit',
      'local__hang',
      'local__slow',
      'local__stats',
      'remote__echo',
      'remote__stats',
    ]);
    const schema = app.fake.requests[0].body.tools.find((t: any) => t.name === 'local__add').input_schema;
    assert.deepEqual([schema.type, Object.keys(schema.properties).sort(), schema.required.sort()], ['object', ['a', 'b'], ['a', 'b']]);
  });

  it('calls tools on the stdio and the HTTP server and returns their results', async () => {
    const a = await call('local__echo', { text: 'over stdio' });
    assert.deepEqual([a.is_error, a.output], [false, 'over stdio']);
    assert.deepEqual([a.modelSaw.type, a.modelSaw.tool_use_id, a.modelSaw.content], ['tool_result', 'toolu_1', 'over stdio']);
    const b = await call('remote__echo', { text: 'over http' });
    assert.deepEqual([b.is_error, b.output], [false, 'over http']);
    assert.equal((await call('local__add', { a: 2, b: 40 })).output, '42');
  });

  it('reuses one connection per server across calls', async () => {
    const first = await stats('local__stats');
    await call('local__echo', { text: 'x' });
    const second = await stats('local__stats');
    assert.equal(second.pid, first.pid);
    assert.equal(second.calls.echo, (first.calls.echo ?? 0) + 1);
    assert.equal(starts().length, 1, 'one stdio process started');

    const s1 = await stats('remote__stats');
    await call('remote__echo', { text: 'y' });
    const s2 = await stats('remote__stats');
    assert.deepEqual([s1.sessions, s2.sessions, mcpHttp!.sessions], [1, 1, 1], 'one HTTP session for every call');
  });

  it('denied tools are not offered and never run', async () => {
    const before = await stats('local__stats');
    for (const name of ['local__fail', 'remote__add', 'broken__anything']) {
      const r = await call(name);
      assert.deepEqual([r.is_error, r.output, r.modelSaw.is_error], [true, `unknown tool: ${name}`, true]);
    }
    const after = await stats('local__stats');
    assert.equal(after.calls.fail, undefined);
    assert.equal(mcpHttp!.stats.calls.add, undefined);
    assert.equal(after.pid, before.pid);
  });

  it('a stdio server that dies in a call fails that call; the next call restarts it', async () => {
    const { pid } = await stats('local__stats');
    const died = await call('local__exit');
    assert.equal(died.is_error, true);
    assert.match(died.output, /Connection closed/i);
    assert.equal(died.modelSaw.is_error, true);
    const next = await stats('local__stats');
    assert.notEqual(next.pid, pid);
    assert.deepEqual(next.calls, {}, 'a fresh process (no calls counted yet)');
    assert.equal(starts().length, 2);
  });

  it('a stdio server killed between calls is restarted by the next call, which succeeds', async () => {
    const { pid } = await stats('local__stats');
    const closed = closedWarnings();
    process.kill(pid, 'SIGKILL');
    await waitFor('the process to die', () => processGone(pid));
    await waitFor('the server to notice', () => closedWarnings() > closed);
    const r = await call('local__echo', { text: 'back' });
    assert.deepEqual([r.is_error, r.output], [false, 'back']);
    assert.notEqual((await stats('local__stats')).pid, pid);
    assert.equal(starts().length, 3);
  });

  it('an HTTP server that forgot the session (404) gets a new session and the call succeeds', async () => {
    await mcpHttp!.dropSessions();
    const r = await call('remote__echo', { text: 'again' });
    assert.deepEqual([r.is_error, r.output], [false, 'again']);
    assert.equal(mcpHttp!.sessions, 2);
    assert.ok(mem.records.some((r) => r.mcp_server === 'remote' && /not delivered .*reconnecting to send it again/.test(r.msg)), 'retried on a new session');
  });

  it('runs the calls of one turn concurrently, over one connection', async () => {
    const { results, modelSaw } = await callTools(app.url, app.fake, [
      { name: 'local__slow', input: { ms: 300 } },
      { name: 'local__slow', input: { ms: 300 } },
    ]);
    assert.deepEqual(
      results.map((r) => [r.id, r.is_error]),
      [
        ['toolu_1', false],
        ['toolu_2', false],
      ],
    );
    const [a, b] = results.map((r) => JSON.parse(r.output) as { start: number; end: number });
    // Each call ran while the other was running (recorded by the MCP server itself).
    assert.ok(b.start < a.end && a.start < b.end, `overlap: ${JSON.stringify([a, b])}`);
    assert.deepEqual(
      modelSaw.map((m) => m.tool_use_id),
      ['toolu_1', 'toolu_2'],
    );
  });
});
