// npm run bench:auth — CPU per request of the authentication middleware, by mode, in this process.
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { Authenticator } from '../src/auth/authenticator.js';
import { loadConfig } from '../src/config.js';
import { authMiddleware } from '../src/http/auth.js';

const N = Number(process.argv[2] ?? 200_000);
const key = randomBytes(24).toString('hex');
const logger = pino({ level: 'silent' });

/** A request as Express hands it to the middleware (only what it reads). */
function request(headers: Record<string, string>) {
  return { method: 'POST', path: '/v1/runs', url: '/v1/runs', headers, socket: { remoteAddress: '127.0.0.1' } } as never;
}

async function measure(name: string, env: Record<string, string>, headers: Record<string, string>): Promise<number> {
  const config = loadConfig({ ...env, AGENTSDK_HTTP_ADDR: '127.0.0.1:0' }, []);
  const mw = authMiddleware({ authenticator: new Authenticator(config.auth), config, logger });
  const res = { locals: {}, setHeader() {}, status() { return this; }, json() {} } as never;
  const once = () => new Promise<void>((resolve, reject) => mw(request(headers), res, (err?: unknown) => (err ? reject(err) : resolve())));
  for (let i = 0; i < 20_000; i++) await once(); // warm-up
  const t0 = process.cpuUsage();
  for (let i = 0; i < N; i++) await once();
  const t = process.cpuUsage(t0);
  const us = (t.user + t.system) / N;
  console.log(`| ${name.padEnd(34)} | ${us.toFixed(2).padStart(6)} µs | ${(us / 1000).toFixed(4)} ms |`);
  return us;
}

console.log(`node ${process.version} | ${N} requests per row\n`);
console.log('| mode                               | CPU/request | per run |');
console.log('|:-----------------------------------|------------:|--------:|');
await measure('protected mode (loopback, no keys)', {}, {});
await measure('one API key, Authorization: Bearer', { AGENTSDK_API_KEYS: key }, { authorization: `Bearer ${key}` });
await measure('one API key, x-api-key', { AGENTSDK_API_KEYS: key }, { 'x-api-key': key });
