import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { defaultAgents, loadAgentsFile, withMcpTools } from '../src/agents.js';
import { ConfigError, DEFAULT_MODEL, loadConfig } from '../src/config.js';
import { tempDir } from './helpers/server.js';

describe('configuration', () => {
  it('has working defaults', () => {
    const c = loadConfig({}, []);
    assert.deepEqual([c.host, c.port, c.model, c.credentials, c.databaseUrl], ['0.0.0.0', 8080, DEFAULT_MODEL, null, 'sqlite:./data/agent-server.sqlite']);
    assert.equal(c.ssePingMs, 15_000);
    assert.equal(c.heapGrowingPercent, 100);
  });

  it('reads the heap growth (0: V8 decides) and names a bad one', () => {
    assert.equal(loadConfig({ AGENTSDK_HEAP_GROWING_PERCENT: '0' }, []).heapGrowingPercent, 0);
    assert.equal(loadConfig({ AGENTSDK_HEAP_GROWING_PERCENT: '50' }, []).heapGrowingPercent, 50);
    assert.throws(() => loadConfig({ AGENTSDK_HEAP_GROWING_PERCENT: '-5' }, []), (err: Error) => err instanceof ConfigError && /AGENTSDK_HEAP_GROWING_PERCENT/.test(err.message));
  });

  it('accepts :port and host:port, flags over env', () => {
    assert.deepEqual([loadConfig({ AGENTSDK_HTTP_ADDR: ':9000' }, []).port, loadConfig({ AGENTSDK_HTTP_ADDR: '127.0.0.1:0' }, []).host], [9000, '127.0.0.1']);
    const c = loadConfig({ AGENTSDK_MODEL: 'env-model', AGENTSDK_HTTP_ADDR: ':1' }, ['--model', 'flag-model', '--addr', '[::1]:7000']);
    assert.deepEqual([c.model, c.host, c.port], ['flag-model', '::1', 7000]);
  });

  it('auth token wins over the API key', () => {
    assert.deepEqual(loadConfig({ ANTHROPIC_API_KEY: 'k', ANTHROPIC_AUTH_TOKEN: 't' }, []).credentials, { authToken: 't' });
    assert.deepEqual(loadConfig({ ANTHROPIC_API_KEY: 'k' }, []).credentials, { apiKey: 'k' });
  });

  it('reports every bad value at once, naming each', () => {
    try {
      loadConfig({ AGENTSDK_HTTP_ADDR: 'x:99999', ANTHROPIC_BASE_URL: 'not a url', AGENTSDK_SSE_PING_MS: '-1', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://x' }, ['--bogus']);
      assert.fail('should throw');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.problems.length, 6, err.message);
      for (const name of ['--bogus', 'AGENTSDK_HTTP_ADDR', 'ANTHROPIC_BASE_URL', 'AGENTSDK_SSE_PING_MS', 'LOG_LEVEL', 'DATABASE_URL']) assert.match(err.message, new RegExp(name));
    }
  });

  it('reads the tool settings and names bad ones', () => {
    const c = loadConfig({ AGENTSDK_WORKSPACE: 'ws', AGENTSDK_FETCH_ALLOW: 'Intranet.example, *.corp.example,10.0.0.0/8,[::1]', AGENTSDK_SHELL: 'on', AGENTSDK_FETCH_MAX_BYTES: '5000', AGENTSDK_MCP_START_TIMEOUT_MS: '3000', AGENTSDK_TOOL_TIMEOUT_MS: '250' }, []);
    assert.deepEqual(
      [c.workspace, c.fetchAllow, c.shellEnabled, c.fetchMaxBytes, c.mcpStartTimeoutMs, c.toolTimeoutMs],
      [join(process.cwd(), 'ws'), ['intranet.example', '*.corp.example', '10.0.0.0/8', '[::1]'], true, 5000, 3000, 250],
    );
    const d = loadConfig({}, []);
    assert.deepEqual([d.workspace, d.fetchAllow, d.shellEnabled, d.fetchMaxBytes, d.mcpStartTimeoutMs, d.toolTimeoutMs], [join(process.cwd(), 'workspace'), [], false, 65_536, 20_000, 60_000]);
    try {
      loadConfig({ AGENTSDK_FETCH_ALLOW: 'ok.example,http://x/,10.0.0.0/33', AGENTSDK_SHELL: 'yes', AGENTSDK_FETCH_MAX_BYTES: '0', AGENTSDK_MCP_START_TIMEOUT_MS: 'soon', AGENTSDK_TOOL_TIMEOUT_MS: '1.5' }, []);
      assert.fail('should throw');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.problems.length, 6, err.message);
      for (const text of ['"http://x/"', '"10.0.0.0/33"', 'AGENTSDK_SHELL', 'AGENTSDK_FETCH_MAX_BYTES', 'AGENTSDK_MCP_START_TIMEOUT_MS', 'AGENTSDK_TOOL_TIMEOUT_MS']) assert.ok(err.message.includes(text), text);
    }
  });

  it('reads the lease and pool size, and names bad ones', () => {
    assert.deepEqual([loadConfig({}, []).leaseMs, loadConfig({}, []).databasePoolSize], [15_000, 10]);
    const c = loadConfig({ AGENTSDK_LEASE_MS: '1500', DATABASE_POOL_SIZE: '3' }, []);
    assert.deepEqual([c.leaseMs, c.databasePoolSize], [1500, 3]);
    assert.throws(
      () => loadConfig({ AGENTSDK_LEASE_MS: '100', DATABASE_POOL_SIZE: '0' }, []),
      (err: Error) => err instanceof ConfigError && err.problems.length === 2 && /AGENTSDK_LEASE_MS "100" must be an integer >= 300/.test(err.message) && /DATABASE_POOL_SIZE "0"/.test(err.message),
    );
  });

  it('reads the OTLP encoding (default http/protobuf; the traces variable wins) and names a bad one', () => {
    assert.equal(loadConfig({}, []).tracesProtocol, 'http/protobuf');
    assert.equal(loadConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, []).tracesProtocol, 'http/json');
    assert.equal(loadConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf' }, []).tracesProtocol, 'http/protobuf');
    assert.throws(() => loadConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, []), (err: Error) => err instanceof ConfigError && /OTEL_EXPORTER_OTLP_PROTOCOL "grpc" must be http\/protobuf or http\/json/.test(err.message));
    assert.deepEqual(loadConfig({}, []).tracesSampler, { name: 'parentbased_always_on', ratio: 1 });
    assert.deepEqual(loadConfig({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }, []).tracesSampler, { name: 'parentbased_traceidratio', ratio: 0.25 });
    assert.throws(() => loadConfig({ OTEL_TRACES_SAMPLER: 'jaeger_remote' }, []), (err: Error) => err instanceof ConfigError && /OTEL_TRACES_SAMPLER "jaeger_remote" must be one of/.test(err.message));
    assert.throws(() => loadConfig({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' }, []), (err: Error) => err instanceof ConfigError && /OTEL_TRACES_SAMPLER_ARG must be a ratio/.test(err.message));
  });

  it('never prints a database password', () => {
    assert.throws(() => loadConfig({ DATABASE_URL: 'mysql://user:s3cret@host/db' }, []), (err: Error) => !err.message.includes('s3cret'));
  });
});

describe('agents file', () => {
  const known = new Set(['current_time']);
  const write = (content: unknown) => {
    const { dir } = tempDir();
    const file = join(dir, 'agents.json');
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
    return file;
  };

  it('context keys: defaults, overrides, and errors that name the bad key', () => {
    const agents = loadAgentsFile(write({ agents: { a: {}, b: { prompt_cache: 'off', cache_ttl: '1h', context_window: 50_000, compaction: { threshold: 0.5, keep_recent_turns: 2 } }, c: { compaction: 'off' } } }), 'm', known);
    assert.deepEqual(
      { cache: agents.get('a')!.promptCache, ttl: agents.get('a')!.cacheTtl, window: agents.get('a')!.contextWindow, compaction: agents.get('a')!.compaction },
      { cache: 'auto', ttl: '5m', window: undefined, compaction: { threshold: 0.8, keepRecentTurns: 6, summaryMaxTokens: 2048 } },
    );
    assert.deepEqual(agents.get('b')!.compaction, { threshold: 0.5, keepRecentTurns: 2, summaryMaxTokens: 2048 });
    assert.equal(agents.get('b')!.contextWindow, 50_000);
    assert.equal(agents.get('c')!.compaction, null);
    for (const [spec, message] of [
      [{ compaction: 'sometimes' }, /agents\.a\.compaction: must be "off" or an object/],
      [{ compaction: { threshold: 1.5 } }, /agents\.a\.compaction\.threshold/],
      [{ compaction: { keep: 3 } }, /agents\.a\.compaction: unknown key\(s\) keep/],
      [{ prompt_cache: 'on' }, /agents\.a\.prompt_cache: must be "auto" or "off"/],
      [{ cache_ttl: '2h' }, /agents\.a\.cache_ttl: must be "5m" or "1h"/],
      [{ context_window: 10 }, /agents\.a\.context_window/],
    ] as const) {
      assert.throws(() => loadAgentsFile(write({ agents: { a: spec } }), 'm', known), (err: Error) => message.test(err.message), JSON.stringify(spec));
    }
  });

  it('MCP env and headers take ${NAME} from the environment; an unset one names the key, never a value', () => {
    const file = write({
      agents: {
        a: {
          mcp_servers: {
            local: { command: 'node', env: { TOKEN: '${MCP_TOKEN}', PLAIN: 'x-${MCP_TOKEN}-y' } },
            remote: { url: 'https://mcp.example.com/mcp', headers: { authorization: 'Bearer ${MCP_TOKEN}' } },
          },
        },
      },
    });
    const agents = loadAgentsFile(file, 'm', known, { env: { MCP_TOKEN: 's3cret' } });
    const servers = agents.get('a')!.mcpServers!;
    assert.deepEqual((servers.local as any).env, { TOKEN: 's3cret', PLAIN: 'x-s3cret-y' });
    assert.deepEqual((servers.remote as any).headers, { authorization: 'Bearer s3cret' });
    assert.throws(
      () => loadAgentsFile(file, 'm', known, { env: {} }),
      (err: Error) => /agents\.a\.mcp_servers\.local\.env\.TOKEN: environment variable MCP_TOKEN is not set/.test(err.message) && !err.message.includes('s3cret'),
    );
  });

  it('without a file there is one agent, assistant', () => {
    assert.deepEqual([...defaultAgents('m').keys()], ['assistant']);
  });

  it('loads agents with defaults filled in', () => {
    const agents = loadAgentsFile(write({ agents: { researcher: { system: 'Be precise.', max_steps: 3, thinking_budget: 2048, max_tokens: 8000, tools: ['current_time'] } } }), 'default-model', known);
    const a = agents.get('researcher')!;
    assert.deepEqual([a.name, a.model, a.system, a.maxSteps, a.maxTokens, a.thinkingBudget, a.tools], ['researcher', 'default-model', 'Be precise.', 3, 8000, 2048, ['current_time']]);
  });

  it('rejects bad files naming the bad key', () => {
    const cases: Array<[unknown, RegExp]> = [
      ['{not json', /agents file .*JSON/i],
      [{ agents: {} }, /at least one agent/],
      [{ agents: { a: { modle: 'x' } } }, /agents\.a: unknown key\(s\) modle/],
      [{ agents: { a: { max_steps: 0 } } }, /agents\.a\.max_steps/],
      [{ agents: { a: { tools: ['nope'] } } }, /agents\.a\.tools: unknown tool "nope"/],
      [{ agents: { a: { thinking_budget: 5000, max_tokens: 4096 } } }, /thinking_budget: must be less than max_tokens/],
      [{ agents: { 'bad id!': {} } }, /agents/],
    ];
    for (const [content, message] of cases) assert.throws(() => loadAgentsFile(write(content), 'm', known), message);
  });

  it('rejects bad tools, mcp_servers and workspace entries naming the bad key', () => {
    const builtins = new Set(['current_time', 'read_file', 'shell']);
    const cases: Array<[unknown, RegExp]> = [
      [{ agents: { a: { tools: { current_time: 'maybe' } } } }, /agents\.a\.tools\.current_time: must be "allow", "ask" or "deny"/],
      [{ agents: { a: { tools: { current_time: { polcy: 'allow' } } } } }, /agents\.a\.tools\.current_time: unknown key\(s\) polcy/],
      [{ agents: { a: { tools: { current_time: { timeout_ms: 0 } } } } }, /agents\.a\.tools\.current_time\.timeout_ms: /],
      [{ agents: { a: { tools: { current_time: 3 } } } }, /agents\.a\.tools\.current_time: must be "allow", "ask", "deny" or an object/],
      [{ agents: { a: { tools: 'current_time' } } }, /agents\.a\.tools: must be a list of tool names or an object/],
      [{ agents: { a: { tools: { nope: 'allow' } } } }, /agents\.a\.tools: unknown tool "nope"/],
      [{ agents: { a: { tools: ['gh__search'] } } }, /agents\.a\.tools: unknown tool "gh__search"/],
      [{ agents: { a: { mcp_servers: { 'bad name': { command: 'x' } } } } }, /agents\.a\.mcp_servers\.bad name: invalid name: MCP server names are/],
      [{ agents: { a: { mcp_servers: { a__b: { command: 'x' } } } } }, /agents\.a\.mcp_servers\.a__b: invalid name: .*must not contain "__"/],
      [{ agents: { a: { mcp_servers: { s: { command: 'x', url: 'http://x' } } } } }, /agents\.a\.mcp_servers\.s: give either command \(stdio\) or url/],
      [{ agents: { a: { mcp_servers: { s: { args: ['x'] } } } } }, /agents\.a\.mcp_servers\.s: needs command .* or url/],
      [{ agents: { a: { mcp_servers: { s: 'npx server' } } } }, /agents\.a\.mcp_servers\.s: must be an object/],
      [{ agents: { a: { mcp_servers: { s: { command: '' } } } } }, /agents\.a\.mcp_servers\.s\.command: /],
      [{ agents: { a: { mcp_servers: { s: { command: 'x', args: 'y' } } } } }, /agents\.a\.mcp_servers\.s\.args: /],
      [{ agents: { a: { mcp_servers: { s: { url: 'ftp://x' } } } } }, /agents\.a\.mcp_servers\.s\.url: must be an http\(s\) URL/],
      [{ agents: { a: { mcp_servers: { s: { url: 'http://x', headers: { a: 1 } } } } } }, /agents\.a\.mcp_servers\.s\.headers\.a: /],
      [{ agents: { a: { mcp_servers: { s: { command: 'x', bogus: 1 } } } } }, /agents\.a\.mcp_servers\.s: unknown key\(s\) bogus/],
      [{ agents: { a: { mcp_servers: { s: { command: 'x', policy: 'sometimes' } } } } }, /agents\.a\.mcp_servers\.s\.policy: must be "allow", "ask" or "deny"/],
      [{ agents: { a: { mcp_servers: { s: { command: 'x', timeout_ms: -1 } } } } }, /agents\.a\.mcp_servers\.s\.timeout_ms: /],
      [{ agents: { a: { mcp_servers: { s: { command: 'x' } } }, b: { mcp_servers: { s: { command: 'y' } } } } }, /agents\.b\.mcp_servers\.s: another agent declares a different server/],
      [{ agents: { a: { workspace: '' } } }, /agents\.a\.workspace: must not be empty/],
      [{ agents: { a: { workspace: 3 } } }, /agents\.a\.workspace: /],
    ];
    for (const [content, message] of cases) assert.throws(() => loadAgentsFile(write(content), 'm', builtins), message, JSON.stringify(content));
  });

  it('turns tools, policies, timeouts, workspace and MCP servers into the agent', () => {
    const warnings: string[] = [];
    const file = write({
      agents: {
        a: {
          workspace: 'ws-a',
          tools: { current_time: 'allow', read_file: { policy: 'ask', timeout_ms: 5000 }, shell: 'allow', gh__delete_repo: 'deny', gh__search: { timeout_ms: 100 } },
          mcp_servers: { gh: { command: 'gh-mcp', args: ['--stdio'], policy: 'ask', timeout_ms: 2000 }, web: { url: 'https://mcp.example/mcp', headers: { authorization: 'Bearer x' } } },
        },
        b: { tools: ['current_time'] },
      },
    });
    const agents = loadAgentsFile(file, 'm', new Set(['current_time', 'read_file']), {
      workspace: '/srv/default-ws',
      disabled: new Map([['shell', 'the shell tool is off']]),
      warn: (m) => warnings.push(m),
    });
    const a = agents.get('a')!;
    assert.deepEqual(a.tools, ['current_time', 'read_file'], 'deny and switched-off tools are not offered; MCP tools come later');
    assert.deepEqual(warnings, ['agents.a.tools: "shell" ignored: the shell tool is off']);
    assert.equal(a.toolPolicies!.get('read_file'), 'ask');
    assert.equal(a.toolTimeouts!.get('read_file'), 5000);
    assert.equal(a.workspace, join(process.cwd(), 'ws-a'));
    assert.equal(agents.get('b')!.workspace, '/srv/default-ws');
    assert.deepEqual(Object.keys(a.mcpServers!), ['gh', 'web']);

    // Once the servers have listed their tools: the tool's own entry, then the server's policy and timeout.
    withMcpTools(agents, new Map([['gh', ['gh__search', 'gh__delete_repo', 'gh__read']]]), (m) => warnings.push(m));
    assert.deepEqual(a.tools, ['current_time', 'read_file', 'gh__search', 'gh__read']);
    assert.deepEqual(
      ['gh__search', 'gh__delete_repo', 'gh__read'].map((t) => [a.toolPolicies!.get(t), a.toolTimeouts!.get(t)]),
      [
        ['allow', 100],
        ['deny', 2000],
        ['ask', 2000],
      ],
    );
    // `web` is down (not listed): it contributes nothing.
    assert.ok(!a.tools.some((t) => t.startsWith('web__')));
    withMcpTools(loadAgentsFile(write({ agents: { c: { tools: { gh__missing: 'allow' }, mcp_servers: { gh: { command: 'gh-mcp' } } } } }), 'm', new Set()), new Map([['gh', ['gh__search']]]), (m) => warnings.push(m));
    assert.equal(warnings.at(-1), 'agents.c.tools: MCP server "gh" has no tool "missing"');
  });
});
