// The fake Anthropic API as its own process, so its CPU is not charged to the bench driver or target.
import { startFakeAnthropic } from '../test/fixtures/fake-anthropic.js';

const text = Array.from({ length: 50 }, (_, i) => `word${i + 1}`).join(' ');

const fake = await startFakeAnthropic();
// BENCH_FAKE_TOKENS=1 (long-thread bench): usage is the request's size, and compaction requests get a summary.
const sized = process.env.BENCH_FAKE_TOKENS === '1';
if (sized) fake.configure({ tokenUsage: true });
const summary = Array.from({ length: 60 }, (_, i) => `fact${i + 1}`).join(' ');
const summarising = (body: any) => Array.isArray(body?.system) ? false : String(body?.system ?? '').startsWith('You compact conversations');
/** The bench picks the fake's pace by its prompt: "first-token" waits 20 ms before answering, "slow" streams a word every 500 ms. */
const PACE: Record<string, { delayMs?: number; chunkDelayMs?: number }> = { 'first-token': { delayMs: 20 }, slow: { chunkDelayMs: 500 } };
function promptOf(body: any): string {
  const last = body?.messages?.at?.(-1)?.content;
  const text = typeof last === 'string' ? last : Array.isArray(last) ? last.map((b: any) => b?.text ?? '').join('') : '';
  return text.trim();
}
fake.setHandler((body) => ({ content: [{ type: 'text', text: sized && summarising(body) ? summary : text }], ...PACE[promptOf(body)] }));
// It records every request; a long run would otherwise grow without bound.
setInterval(() => fake.requests.splice(0), 1000).unref();

process.stdout.write(`${JSON.stringify({ url: fake.url })}\n`);

const stop = () => void fake.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
