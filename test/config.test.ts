import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { defaultAgents, loadAgentsFile } from '../src/agents.js';
import { ConfigError, DEFAULT_MODEL, loadConfig } from '../src/config.js';
import { tempDir } from './helpers/server.js';

describe('configuration', () => {
  it('has working defaults', () => {
    const c = loadConfig({}, []);
    assert.deepEqual([c.host, c.port, c.model, c.credentials, c.databaseUrl], ['0.0.0.0', 8080, DEFAULT_MODEL, null, 'sqlite:./data/agent-server.sqlite']);
    assert.equal(c.ssePingMs, 15_000);
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
});
