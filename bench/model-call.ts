// npm run bench:model [-- calls]
// CPU of one streamed model turn in this process, through the Anthropic SDK: with Node's fetch (the
// SDK's default), with the undici `request` fetch the server uses (src/runtime/model-fetch.ts), and
// with that fetch, the server's stream reader (src/runtime/model-stream.ts) instead of the SDK's and
// the SDK's own spans off, as the server's client has them.
// The fake API runs in its own process, so only the client side is counted.
import { fileURLToPath } from 'node:url';
import Anthropic from '@anthropic-ai/sdk';
import { createModelFetch } from '../src/runtime/model-fetch.js';
import { modelEvents } from '../src/runtime/model-stream.js';
import { spawnNode, stopAll } from './children.js';

const calls = Number(process.argv[2] ?? 2000);
const root = fileURLToPath(new URL('..', import.meta.url));
const fake = await spawnNode('fake-anthropic', 'bench/fake-server.ts', { cwd: root, env: process.env, pickUrl: (r) => r.url });

const request: Anthropic.MessageCreateParamsStreaming = { model: 'bench-model', max_tokens: 1024, stream: true, messages: [{ role: 'user', content: 'hello' }] };
const sdk = (client: Anthropic) => async () => {
  let events = 0;
  for await (const _ of await client.messages.create(request)) events++;
  return events;
};
const undici = new Anthropic({ apiKey: 'bench', baseURL: fake.url, maxRetries: 0, fetch: createModelFetch() });
// As src/runtime/model.ts builds it: the SDK's own (no-op) spans off.
const server = new Anthropic({ apiKey: 'bench', baseURL: fake.url, maxRetries: 0, fetch: createModelFetch(), openTelemetry: { traces: { enabled: false }, propagation: false } });
const turns: Record<string, () => Promise<number>> = {
  'SDK default (Node fetch)': sdk(new Anthropic({ apiKey: 'bench', baseURL: fake.url, maxRetries: 0 })),
  'SDK + undici request': sdk(undici),
  'SDK + undici request + modelEvents + SDK spans off (server)': async () => {
    let events = 0;
    for await (const _ of modelEvents(await server.messages.create(request).asResponse())) events++;
    return events;
  },
};

async function cpuPerCall(turn: () => Promise<number>, n: number): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) await turn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000 / n;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2;
};

try {
  for (const turn of Object.values(turns)) {
    if ((await turn()) < 50) throw new Error('the fake answered fewer events than its 50-word reply');
    await cpuPerCall(turn, 300); // warm-up
  }
  // Alternate them, so drift on a shared machine touches each alike.
  const results = new Map<string, number[]>();
  for (let round = 0; round < 4; round++) {
    for (const [name, turn] of Object.entries(turns)) {
      results.set(name, [...(results.get(name) ?? []), await cpuPerCall(turn, Math.ceil(calls / 4))]);
    }
  }
  console.log(`\nnode ${process.version} | ${calls} streamed turns of 50 words each | CPU ms per call (median of 4 rounds)\n`);
  console.log('| client | CPU ms/call |\n|:--|--:|');
  for (const [name, ms] of results) console.log(`| ${name} | ${median(ms).toFixed(3)} |`);
} finally {
  await stopAll();
}
