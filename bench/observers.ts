// npm run bench:observers [-- runs] — CPU per run of the metrics and the spans alone, in this process.
// One run as the server observes a lean one: the request's middleware, the run's scope, one model
// call (first chunk, end with usage) and the response's 'close'. Spans are exported over OTLP/HTTP
// to a receiver in a child process, so only the exporting side is counted here.
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import type { RequestHandler } from 'express';
import { observeHttp } from '../src/observability/http-observer.js';
import { Metrics } from '../src/observability/metrics.js';
import { startTracing } from '../src/observability/tracing.js';
import { combineObservers, NOOP_OBSERVER, type RunObserver } from '../src/runtime/observer.js';

const N = Number(process.argv[2] ?? 100_000);
const receiver = spawn(process.execPath, ['-e', `
  const s = require('node:http').createServer((req, res) => { req.resume(); req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end()); });
  s.listen(0, '127.0.0.1', () => console.log('http://127.0.0.1:' + s.address().port + '/v1/traces'));
`], { stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise<string>((resolve) => createInterface({ input: receiver.stdout! }).once('line', resolve));

const usage = { input_tokens: 12, output_tokens: 50, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };

function runOnce(i: number, middleware: RequestHandler[], observer: RunObserver): void {
  const req = { method: 'POST', path: '/v1/run/stream', headers: {}, route: { path: '/v1/run/stream' }, baseUrl: '' } as never;
  const res = Object.assign(new EventEmitter(), { req, locals: {} as Record<string, unknown>, statusCode: 200 });
  for (const mw of middleware) mw(req, res as never, () => {});
  observer.traceId(res.locals.trace);
  const scope = observer.run({ runId: `run_${i}`, threadId: `thread_${i}`, agentId: 'assistant', origin: 'lean', resumed: false, parent: res.locals.trace });
  scope.began();
  const call = scope.modelCall({ model: 'bench-model', step: 1, startedAt: performance.now() });
  call.chunk();
  call.end({ outcome: 'ok', usage, responseId: `msg_${i}`, stopReason: 'end_turn' });
  observer.commit('finishRun', 0.0004);
  scope.finished('completed');
  res.emit('close');
}

let floor = 0;

/** The row's CPU per run, beside the floor: the same loop with no observer (its objects, its yields). */
async function measure(name: string, middleware: RequestHandler[], observer: RunObserver, shutdown = async () => {}): Promise<number> {
  // Yield now and then, as a server does between requests: the span processor exports on timers.
  const loop = async (n: number) => {
    for (let i = 0; i < n; i++) {
      runOnce(i, middleware, observer);
      if (i % 50 === 49) await new Promise((r) => setImmediate(r));
    }
  };
  await loop(20_000);
  const t0 = process.cpuUsage();
  await loop(N);
  await shutdown(); // the last spans exported, inside the measure
  const t = process.cpuUsage(t0);
  const us = (t.user + t.system) / N;
  console.log(`| ${name.padEnd(34)} | ${us.toFixed(1).padStart(10)} | ${(floor ? `+${(us - floor).toFixed(1)}` : '-').padStart(14)} |`);
  return us;
}

console.log(`node ${process.version} | ${N} runs per row\n`);
console.log('| observers                          | µs CPU/run | over the floor |');
console.log('|:-----------------------------------|-----------:|---------------:|');
floor = await measure('none (the floor)', [], NOOP_OBSERVER);
const metrics = new Metrics();
await measure('metrics', [observeHttp([metrics.httpObserver])!], metrics.observer);
for (const [name, sampler] of [
  ['traces (parentbased_always_on)', undefined],
  ['traces, one in ten', { name: 'parentbased_traceidratio', ratio: 0.1 }],
  ['traces, always_off', { name: 'always_off', ratio: 1 }],
] as const) {
  const tracing = startTracing({ url, content: false, sampler });
  await measure(name, [observeHttp([tracing.httpObserver])!], tracing.observer, () => tracing.shutdown());
}
// What the server runs with both on: one HTTP hook and one observer for the two.
{
  const both = new Metrics();
  const tracing = startTracing({ url, content: false });
  await measure('metrics + traces', [observeHttp([tracing.httpObserver, both.httpObserver])!], combineObservers([tracing.observer, both.observer]), () => tracing.shutdown());
}
receiver.kill();
