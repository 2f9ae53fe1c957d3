import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_TOOL_OUTPUT } from '../src/runtime/tools/registry.js';
import { useServer } from './helpers/setup.js';
import { callTool, callTools, offeredTools, stdioFixture } from './helpers/tools.js';

/** How the registry runs tools: timeouts, thrown errors, truncation, schema checks, policies. An MCP fixture tool that hangs or throws is the vehicle. */
describe('tool execution', () => {
  const app = useServer({
    env: { AGENTSDK_TOOL_TIMEOUT_MS: '1000' },
    agents: {
      agents: {
        // Timeouts, most specific first: the tool's entry, the MCP server's timeout_ms, AGENTSDK_TOOL_TIMEOUT_MS.
        assistant: { tools: { current_time: 'allow', read_file: 'deny', mcp__hang: { timeout_ms: 200 } }, mcp_servers: { mcp: stdioFixture() } },
        server_timeout: { mcp_servers: { mcp: stdioFixture({ timeout_ms: 400 }) } },
        global_timeout: { mcp_servers: { mcp: stdioFixture() } },
      },
    },
  });

  const call = (name: string, input: unknown = {}, agent?: string) => callTool(app.url, app.fake, name, input, agent);
  const stats = async () => JSON.parse((await call('mcp__stats')).output) as { pid: number; calls: Record<string, number> };

  it('a tool that hangs hits its timeout; the model sees an is_error result', async () => {
    const { pid } = await stats();
    for (const [agent, ms] of [
      [undefined, 200],
      ['server_timeout', 400],
      ['global_timeout', 1000],
    ] as const) {
      const r = await call('mcp__hang', {}, agent);
      assert.deepEqual([r.is_error, r.output], [true, `tool timed out after ${ms} ms`], agent);
      assert.deepEqual([r.modelSaw.type, r.modelSaw.tool_use_id, r.modelSaw.is_error, r.modelSaw.content], ['tool_result', 'toolu_1', true, `tool timed out after ${ms} ms`]);
    }
    // The connection survives a timed-out call.
    const after = await stats();
    assert.deepEqual([after.pid, after.calls.hang], [pid, 3]);
  });

  it('a tool that throws becomes an is_error result with the message', async () => {
    const mcp = await call('mcp__fail');
    assert.deepEqual([mcp.is_error, mcp.modelSaw.is_error], [true, true]);
    assert.match(mcp.output, /kaboom/);
    assert.match(mcp.modelSaw.content, /kaboom/);
    const builtin = await call('current_time', { timezone: 'Mars/Olympus_Mons' });
    assert.deepEqual([builtin.is_error, builtin.modelSaw.is_error], [true, true]);
    assert.match(builtin.output, /time zone/i);
  });

  it('cuts large output, with a marker', async () => {
    const r = await call('mcp__big', { chars: MAX_TOOL_OUTPUT + 5_000 });
    assert.equal(r.is_error, false);
    assert.equal(r.output, `${'x'.repeat(MAX_TOOL_OUTPUT)}\n…[truncated 5000 characters]`);
    assert.equal(r.modelSaw.content, r.output);
    const small = await call('mcp__big', { chars: 10 });
    assert.equal(small.output, 'x'.repeat(10));
  });

  it('input that does not match the JSON schema is an error and the tool does not run', async () => {
    const before = await stats();
    const wrongType = await call('mcp__add', { a: 'two', b: 2 });
    assert.equal(wrongType.is_error, true);
    assert.match(wrongType.output, /^invalid input for mcp__add: \/a must be number/);
    const missing = await call('mcp__echo', {});
    assert.match(missing.output, /^invalid input for mcp__echo: .*must have required property 'text'/);
    assert.equal(missing.modelSaw.is_error, true);
    const after = await stats();
    assert.deepEqual([after.calls.add, after.calls.echo], [before.calls.add, before.calls.echo]);
  });

  it('a denied tool is not offered and does not run', async () => {
    const r = await call('read_file', { path: 'x' });
    assert.deepEqual([r.is_error, r.output], [true, 'unknown tool: read_file']);
    const offered = offeredTools(app.fake, 0);
    assert.ok(offered.includes('current_time') && offered.includes('mcp__hang'), offered.join());
    assert.ok(!offered.includes('read_file'));
  });

  it('one failing call does not spoil the others of its turn', async () => {
    const { results, modelSaw } = await callTools(app.url, app.fake, [
      { name: 'mcp__fail', input: {} },
      { name: 'mcp__echo', input: { text: 'fine' } },
      { name: 'mcp__hang', input: {} },
    ]);
    assert.deepEqual(
      results.map((r) => [r.name, r.is_error]),
      [
        ['mcp__fail', true],
        ['mcp__echo', false],
        ['mcp__hang', true],
      ],
    );
    assert.deepEqual(
      modelSaw.map((b) => [b.tool_use_id, b.is_error ?? false]),
      [
        ['toolu_1', true],
        ['toolu_2', false],
        ['toolu_3', true],
      ],
    );
    assert.equal(modelSaw[1].content, 'fine');
  });
});
