// Child processes that announce their URL as a JSON line on stdout, and their cleanup.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** The inherited environment without anything that would change how the children behave. */
export function baseEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^(ANTHROPIC_|AGENTSDK_|AGENTS_FILE$|DATABASE_URL$|LOG_LEVEL$)/.test(key)) delete env[key];
  }
  return env;
}

export interface Child {
  name: string;
  url: string;
  proc: ChildProcess;
  pid: number;
}

const children = new Set<ChildProcess>();

/**
 * Runs `node <script>` (with `--import tsx` for a .ts script) and resolves with the URL from the first stdout line that
 * `pickUrl` accepts. stdout is read to the end afterwards so a chatty child never blocks on a full pipe.
 */
export function spawnNode(
  name: string,
  script: string,
  opts: { cwd: string; env: NodeJS.ProcessEnv; pickUrl: (record: any) => string | undefined; timeoutMs?: number },
): Promise<Child> {
  const proc = spawn(process.execPath, script.endsWith('.ts') ? ['--import', 'tsx', script] : [script], {
    cwd: opts.cwd,
    env: opts.env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(proc);
  proc.once('exit', () => children.delete(proc));

  const tail: string[] = [];
  return new Promise<Child>((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      reject(new Error(`${name} ${why}${tail.length ? `; last output:\n${tail.join('\n')}` : ''}`));
    };
    const timer = setTimeout(() => fail(`did not announce its URL within ${(opts.timeoutMs ?? 30_000) / 1000} s`), opts.timeoutMs ?? 30_000);
    proc.once('error', (err) => fail(`could not start: ${err.message}`));
    proc.once('exit', (code, signal) => fail(`exited (${signal ?? `code ${code}`}) before announcing its URL`));

    let announced = false;
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      if (announced) return;
      tail.push(line);
      if (tail.length > 20) tail.shift();
      let url: string | undefined;
      try {
        url = opts.pickUrl(JSON.parse(line));
      } catch {
        return; // not JSON
      }
      if (!url) return;
      announced = true;
      clearTimeout(timer);
      resolve({ name, url, proc, pid: proc.pid! });
    });
  });
}

export function isAlive(child: Child): boolean {
  return child.proc.exitCode === null && child.proc.signalCode === null;
}

/** SIGTERM every child, SIGKILL whichever is still there after `graceMs`. */
export async function stopAll(graceMs = 3000): Promise<void> {
  const alive = [...children];
  const exited = alive.map((p) => new Promise<void>((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.once('exit', () => r()))));
  for (const p of alive) p.kill('SIGTERM');
  const timer = setTimeout(() => alive.forEach((p) => p.kill('SIGKILL')), graceMs);
  await Promise.all(exited);
  clearTimeout(timer);
}

// Last resort when the bench dies without reaching stopAll (uncaught error, process.exit).
process.on('exit', () => {
  for (const p of children) p.kill('SIGKILL');
});

/** SIGTERM one child and wait for it to exit (SIGKILL after `graceMs`). */
export async function stopChild(child: Child, graceMs = 3000): Promise<void> {
  const p = child.proc;
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill('SIGTERM');
  const timer = setTimeout(() => p.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * CPU pinning (`taskset`, Linux): the measured process gets the last CPU to itself and the driver,
 * the fake and the rest share the others, so a measured process never waits behind its own load
 * generator. On a small machine that is what makes A/B rows comparable run to run.
 */
export interface Pinning {
  measured: string;
  driver: string;
}
export function planPinning(cpuCount: number): Pinning | undefined {
  if (process.platform !== 'linux' || cpuCount < 2) return undefined;
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  return { measured: String(cpuCount - 1), driver: cpuCount === 2 ? '0' : `0-${cpuCount - 2}` };
}
/** Every thread of `pid` onto `cpus` (a taskset list). */
export function pin(pid: number, cpus: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}
