// The fake Anthropic API as its own process, so its CPU is not charged to the bench driver or target.
import { startFakeAnthropic } from '../test/fixtures/fake-anthropic.js';

const text = Array.from({ length: 50 }, (_, i) => `word${i + 1}`).join(' ');

const fake = await startFakeAnthropic();
fake.setHandler(() => ({ content: [{ type: 'text', text }] }));
// It records every request; a long run would otherwise grow without bound.
setInterval(() => fake.requests.splice(0), 1000).unref();

process.stdout.write(`${JSON.stringify({ url: fake.url })}\n`);

const stop = () => void fake.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
