// npm run bench:model [-- calls]
// CPU of one streamed model turn in this process, through the Anthropic SDK: with Node's fetch (the
// SDK's default) and with the undici `request` fetch the server uses (src/runtime/model-fetch.ts).
// The fake API runs in its own process, so only the client side is counted.
import { fileURLToPath } from 'node:url';
import Anthropic from '@anthropic-ai/sdk';
import { createModelFetch } from '../src/runtime/model-fetch.js';
import { spawnNode, stopAll } from './children.js';

const calls = Number(process.argv[2] ?? 2000);
const root = fileURLToPath(new URL('..', import.meta.url));
const fake = await spawnNode('fake-anthropic', 'bench/fake-server.ts', { cwd: root, env: process.env, pickUrl: (r) => r.url });

const clients = {
  'SDK default (Node fetch)': new Anthropic({ apiKey: 'bench', baseURL: fake.url, maxRetries: 0 }),
  'SDK + undici request (server)': new Anthropic({ apiKey: 'bench', baseURL: fake.url, maxRetries: 0, fetch: createModelFetch() }),
};

async function turn(client: Anthropic): Promise<number> {
  const stream = await client.messages.create({ model: 'bench-model', max_tokens: 1024, stream: true, messages: [{ role: 'user', content: 'hello' }] });
  let events = 0;
  for await (const _ of stream) events++;
  return events;
}

async function cpuPerCall(client: Anthropic, n: number): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) await turn(client);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000 / n;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2;
};

try {
  for (const client of Object.values(clients)) {
    if ((await turn(client)) < 50) throw new Error('the fake answered fewer events than its 50-word reply');
    await cpuPerCall(client, 300); // warm-up
  }
  // Alternate the two, so drift on a shared machine touches both alike.
  const results = new Map<string, number[]>();
  for (let round = 0; round < 4; round++) {
    for (const [name, client] of Object.entries(clients)) {
      results.set(name, [...(results.get(name) ?? []), await cpuPerCall(client, Math.ceil(calls / 4))]);
    }
  }
  console.log(`\nnode ${process.version} | ${calls} streamed turns of 50 words each | CPU ms per call (median of 4 rounds)\n`);
  console.log('| client | CPU ms/call |\n|:--|--:|');
  for (const [name, ms] of results) console.log(`| ${name} | ${median(ms).toFixed(3)} |`);
} finally {
  await stopAll();
}
