// npm run bench:thread [-- --threads 20 --runs 500 --window 25 --db postgres://… --control]
// Per-run CPU and latency early and late in long threads, compaction on: `threads` threads advance
// in lockstep (run r of every thread at once), and the server's CPU is read around each round.
// --control: the same with compaction off and a window large enough never to compact (the cost
// of sending the whole thread). Each beside the bare proxy's floor, measured in the same run.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { baseEnv, spawnNode, stopAll, type Child } from './children.js';
import { cpuMs } from './proc-stats.js';

const { values } = parseArgs({
  options: {
    threads: { type: 'string', default: '20' },
    runs: { type: 'string', default: '500' },
    window: { type: 'string', default: '25' },
    db: { type: 'string' },
    control: { type: 'boolean', default: false },
  },
  strict: true,
});
const threads = Number(values.threads);
const runs = Number(values.runs);
const windowRounds = Math.min(Number(values.window), Math.floor(runs / 2));
const root = fileURLToPath(new URL('..', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'agent-server-thread-bench-'));

const prompt = (r: number) => `question ${r}: ${Array.from({ length: 20 }, (_, i) => `term${i}`).join(' ')}`;

async function post(url: string, body: unknown): Promise<{ ms: number; sessionId?: string }> {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json()) as { session_id?: string; error?: string };
  if (res.status !== 200) throw new Error(`POST /v1/run answered ${res.status}: ${JSON.stringify(json)}`);
  return { ms: performance.now() - t0, sessionId: json.session_id };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

interface Round {
  cpuMsPerRun: number;
  latencies: number[];
}

/** `rounds` rounds of one run on each thread; the CPU of `child` per round. */
async function rounds(child: Child, count: number, withSessions: boolean, onRound?: (r: number) => void): Promise<Round[]> {
  const sessions: Array<string | undefined> = Array(threads).fill(undefined);
  const out: Round[] = [];
  for (let r = 0; r < count; r++) {
    const c0 = cpuMs(child.pid);
    const results = await Promise.all(sessions.map((s) => post(child.url, { prompt: prompt(r), agent_id: 'long', ...(withSessions && s ? { session_id: s } : {}) })));
    if (withSessions) results.forEach((x, i) => (sessions[i] = x.sessionId));
    out.push({ cpuMsPerRun: (cpuMs(child.pid) - c0) / threads, latencies: results.map((x) => x.ms) });
    onRound?.(r);
  }
  return out;
}

function summarise(name: string, rs: Round[], from: number, to: number) {
  const slice = rs.slice(from, to);
  const cpu = slice.reduce((n, r) => n + r.cpuMsPerRun, 0) / slice.length;
  return { name, runs: `${from + 1}-${to}`, cpu, p50: median(slice.flatMap((r) => r.latencies)) };
}

async function serverWith(name: string, fake: Child, agent: object): Promise<Child> {
  const file = join(tmp, `${name.replace(/\W+/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ agents: { long: { system: 'You are terse.', max_tokens: 256, ...agent } } }));
  const db = values.db ?? `sqlite:${join(tmp, `${name.replace(/\W+/g, '-')}.sqlite`)}`;
  return spawnNode(name, 'src/main.ts', {
    cwd: root,
    env: { ...baseEnv(), ANTHROPIC_API_KEY: 'bench', ANTHROPIC_BASE_URL: fake.url, AGENTSDK_HTTP_ADDR: '127.0.0.1:0', DATABASE_URL: db, LOG_LEVEL: 'info', AGENTS_FILE: file, AGENTSDK_SHUTDOWN_GRACE_MS: '1000' },
    pickUrl: (r) => (r.msg === 'listening' ? r.url : undefined),
  });
}

async function main(): Promise<void> {
  const fake = await spawnNode('fake-anthropic', 'bench/fake-server.ts', { cwd: root, env: { ...baseEnv(), BENCH_FAKE_TOKENS: '1' }, pickUrl: (r) => r.url });
  const proxy = await spawnNode('bare proxy', 'bench/bare-proxy.ts', { cwd: root, env: { ...baseEnv(), ANTHROPIC_API_KEY: 'bench', ANTHROPIC_BASE_URL: fake.url }, pickUrl: (r) => r.url });
  const rows: Array<ReturnType<typeof summarise>> = [];
  const targets: Array<[string, object]> = [['compaction on (window 8k)', { context_window: 8000, compaction: { threshold: 0.8, keep_recent_turns: 6 } }]];
  if (values.control) targets.push(['compaction off (whole thread)', { context_window: 1_000_000, compaction: 'off' }]);
  for (const [name, agent] of targets) {
    const server = await serverWith(`server, ${name}`, fake, agent);
    // Warm-up on threads of its own, so the JIT has settled before run 1 is measured.
    await rounds(server, 100, true);
    const rs = await rounds(server, runs, true, (r) => (r + 1) % 100 === 0 && console.error(`${name}: round ${r + 1}/${runs}`));
    const early = summarise(`server, ${name}`, rs, 0, windowRounds);
    const late = summarise(`server, ${name}`, rs, runs - windowRounds, runs);
    rows.push(early, late);
    console.error(`${name}: late/early CPU ${(late.cpu / early.cpu).toFixed(2)}, p50 ${(late.p50 / early.p50).toFixed(2)}`);
  }
  await rounds(proxy, 30, false);
  const floor = await rounds(proxy, windowRounds * 2, false);
  rows.push(summarise('bare proxy (floor)', floor, 0, floor.length));

  console.log(`\nnode ${process.version} | ${cpus()[0]?.model ?? 'unknown'} (${cpus().length} CPUs) | ${new Date().toISOString()} | db ${values.db ? 'postgres' : 'sqlite (temp file)'} | ${threads} threads in lockstep, ${runs} runs each\n`);
  console.log('| target | runs of each thread | CPU ms/run | p50 ms |');
  console.log('|:--|--:|--:|--:|');
  for (const r of rows) console.log(`| ${r.name} | ${r.runs} | ${r.cpu.toFixed(2)} | ${r.p50.toFixed(1)} |`);
  for (let i = 0; i + 1 < rows.length - 1; i += 2) console.log(`\n${rows[i].name}: runs ${rows[i + 1].runs} / runs ${rows[i].runs}: CPU ×${(rows[i + 1].cpu / rows[i].cpu).toFixed(2)}, p50 ×${(rows[i + 1].p50 / rows[i].p50).toFixed(2)}`);
}

main()
  .then(
    () => 0,
    (err) => {
      console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
      return 1;
    },
  )
  .then(async (code) => {
    await stopAll();
    rmSync(tmp, { recursive: true, force: true });
    process.exit(code);
  });
