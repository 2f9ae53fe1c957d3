import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { createApp } from '../src/app.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { originMatcher } from '../src/http/cors.js';
import { publicBaseUrl } from '../src/http/public-url.js';
import { startTestServer, tempDir } from './helpers/server.js';

const problems = (env: Record<string, string>) => {
  try {
    loadConfig(env, []);
    return [];
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
};

describe('auth settings', () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());

  it('env keys are admin principals named by their hash; the key itself is not kept', () => {
    const key = 'k'.repeat(32);
    const c = loadConfig({ AGENTSDK_API_KEYS: `${key}, ${'m'.repeat(20)}` }, []);
    const sha = createHash('sha256').update(key).digest('hex');
    assert.deepEqual(c.auth.apiKeys[0], { name: `key_${sha.slice(0, 8)}`, sha256: sha, admin: true });
    assert.ok(!JSON.stringify(c).includes(key));
  });

  it('refuses short keys, plaintext keys in the file, bad names, contradictions and bad CORS entries, without echoing keys', () => {
    const file = join(tmp.dir, 'keys.json');
    writeFileSync(file, JSON.stringify([{ name: 'bob', key: 'plaintext-secret-123456' }, { name: 'key_x', sha256: 'a'.repeat(64) }, { name: 'ok', sha256: 'zz' }]));
    const p = problems({ AGENTSDK_API_KEYS: 'short', AGENTSDK_API_KEYS_FILE: file, AGENTSDK_AUTH: 'none', AGENTSDK_CORS_ORIGINS: 'app.example.com', AGENTSDK_JWT_SECRET: 'tiny' });
    const text = p.join('\n');
    for (const want of [/AGENTSDK_API_KEYS: key #1/, /unknown field\(s\) key/, /name must match/, /sha256 must be 64 hex/, /AGENTSDK_AUTH=none contradicts/, /AGENTSDK_CORS_ORIGINS entry/, /AGENTSDK_JWT_SECRET must be at least 32 bytes/]) {
      assert.match(text, want);
    }
    assert.ok(!text.includes('plaintext-secret-123456') && !text.includes('short"'), text);
  });

  it('CORS patterns match exactly what they say', () => {
    const m = originMatcher(['https://app.example.com', '*.example.org', 'http://*.dev.test:3000']);
    assert.deepEqual(
      ['https://app.example.com', 'https://a.example.org', 'https://example.org', 'http://a.example.org', 'http://x.dev.test:3000', 'http://x.dev.test', 'https://app.example.com.evil', 'null'].map(m),
      [true, true, false, false, true, false, false, false],
    );
    assert.equal(originMatcher(['*'])('https://anything.test'), true);
  });

  it('publicBaseUrl: AGENTSDK_PUBLIC_URL, else an allowed Host, else the address the connection reached', () => {
    const req = (host: string) => ({ headers: { host }, protocol: 'http', socket: { localAddress: '::ffff:10.1.2.3', localPort: 8080 } }) as any;
    assert.equal(publicBaseUrl(req('evil.example'), { publicUrl: 'https://api.example.com', allowedHosts: [] }), 'https://api.example.com');
    assert.equal(publicBaseUrl(req('localhost:8080'), { allowedHosts: ['localhost'] }), 'http://localhost:8080');
    assert.equal(publicBaseUrl(req('evil.example'), { allowedHosts: ['localhost'] }), 'http://10.1.2.3:8080');
    assert.equal(publicBaseUrl(req('a.corp.example'), { allowedHosts: ['*.corp.example'] }), 'http://a.corp.example');
  });
});

describe('GET /ready', () => {
  it('is 503 (the error body) once the server drains', async () => {
    const s = await startTestServer({ noCredentials: true });
    let draining = false;
    const app = createApp({ config: loadConfig({ AGENTSDK_HTTP_ADDR: '127.0.0.1:0' }, []), runtime: s.runtime, store: s.store, logger: pino({ level: 'silent' }), isDraining: () => draining });
    const http = app.listen(0, '127.0.0.1');
    await new Promise((r) => http.once('listening', r));
    try {
      const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/ready`;
      assert.equal((await fetch(url)).status, 200);
      draining = true;
      const res = await fetch(url);
      assert.equal(res.status, 503);
      assert.equal((await res.json()).code, 'unavailable');
    } finally {
      http.close();
      await s.stop();
    }
  });
});
