import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import { sqlitePath } from '../../db/dialect.js';

/**
 * Tool process groups (the shell tool's) must not outlive the server, even when it is killed with
 * SIGKILL. Two layers:
 *  - a watchdog per group: a tiny `sh` in its own session reading a pipe from the server; the
 *    kernel closes the pipe however the server dies, and the watchdog then kills the group;
 *  - a record per running group (a file named after the owner and the group, each as pid + start
 *    time), removed when the group is gone; start-up kills the groups whose owner is gone, which
 *    covers a watchdog that died with the server.
 * Start times (field 22 of /proc/<pid>/stat) make a reused pid harmless: a group is killed only if
 * its leader is gone or is still the very process that was started. Linux only (/proc); elsewhere
 * groups are still killed on timeout, abort and exit, just not after a crash.
 */

/** Where records are written in this process; set by `reapOrphanToolProcesses` at start-up. */
let recordDir: string | undefined;

/** Start time of `pid` in clock ticks since boot, or undefined if there is no such process. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

const self = { pid: process.pid, start: processStartTime(process.pid) };

/** Start times count from boot: records from another boot (or host) name no process of ours. */
const bootId = (() => {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().toLowerCase();
  } catch {
    return 'unknown';
  }
})();

/** The records' directory: next to the SQLite file, else a private one under the temp dir (records do not outlive a reboot, nor do processes). */
export function toolProcessDir(config: Pick<Config, 'databaseUrl'>): string {
  const url = config.databaseUrl;
  const sqlite = !/^postgres(ql)?:\/\//.test(url) && sqlitePath(url) !== ':memory:';
  if (sqlite) return join(dirname(sqlitePath(url)), 'tool-processes');
  return join(tmpdir(), `agent-server-${process.getuid?.() ?? 'user'}`, 'tool-processes');
}

/** `<boot id>.<owner pid>-<owner start>.<pgid>-<leader start>`, empty. */
const RECORD = /^([0-9a-z-]+)\.(\d+)-(\d+)\.(\d+)-(\d+)$/;

/**
 * Start-up: kills (SIGKILL, whole group) the tool process groups recorded by server processes that
 * are gone, removes their records, and makes this process record its own groups in `dir`.
 */
export function reapOrphanToolProcesses(dir: string, logger: Pick<Logger, 'info' | 'warn'>): { killed: number[] } {
  const killed: number[] = [];
  if (process.platform !== 'linux' || !self.start) return { killed };
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // Someone else's directory could plant records: refuse it (and, under the shared temp dir, its parent).
    for (const d of dir.startsWith(tmpdir()) ? [dirname(dir), dir] : [dir]) {
      if (process.getuid && statSync(d).uid !== process.getuid()) throw new Error(`${d} belongs to another user`);
    }
  } catch (err) {
    logger.warn({ err, dir }, 'cannot record tool processes; only the watchdog will stop them if the server dies');
    return { killed };
  }
  recordDir = dir;
  for (const name of readdirSync(dir)) {
    const m = RECORD.exec(name);
    if (!m) continue;
    const [, boot, ownerPid, ownerStart, pgid, start] = m;
    if (boot === bootId) {
      // A live owner (another server, or this one) still looks after its groups.
      if (processStartTime(Number(ownerPid)) === ownerStart) continue;
      if (killGroupIfSame(Number(pgid), start)) killed.push(Number(pgid));
    }
    try {
      unlinkSync(join(dir, name));
    } catch {
      /* removed meanwhile */
    }
  }
  if (killed.length) logger.info({ groups: killed }, 'killed tool processes left by a previous server process');
  return { killed };
}

/**
 * SIGKILL to group `pgid`, unless its leader's pid now names another process (a different start
 * time). A leader that is gone is fine: while any member lives, the kernel does not reuse the pid.
 */
function killGroupIfSame(pgid: number, start: string): boolean {
  const now = processStartTime(pgid);
  if (now !== undefined && now !== start) return false;
  try {
    process.kill(-pgid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}

// $1 pgid, $2 its leader's start time. Signals sent to the server's terminal group do not reach it
// (own session, and ignored); EOF on stdin means the server is gone.
const WATCHDOG = `trap '' HUP INT QUIT TERM PIPE
g=$1 t=$2
read -r _ || :
if s=$(cat /proc/$g/stat 2>/dev/null); then set -- \${s##*) }; [ "\${20}" = "$t" ] || exit 0; fi
kill -s KILL -- "-$g" 2>/dev/null`;

export interface TrackedGroup {
  /** Kills the group (if it is still the one started) and stops tracking it. Idempotent. */
  release(): void;
}

/**
 * Tracks the process group led by `child` (spawned with `detached: true`): records it and starts
 * its watchdog. Call right after spawn, and `release()` once the group has been killed.
 */
export function trackProcessGroup(child: ChildProcess): TrackedGroup {
  const pgid = child.pid;
  const start = pgid === undefined ? undefined : processStartTime(pgid);
  if (pgid === undefined || start === undefined || !self.start) return { release: () => killQuietly(pgid) };
  let record: string | undefined;
  if (recordDir) {
    record = join(recordDir, `${bootId}.${self.pid}-${self.start}.${pgid}-${start}`);
    try {
      writeFileSync(record, '', { flag: 'wx' });
    } catch {
      record = undefined; // e.g. the directory was removed: the watchdog still covers a crash
    }
  }
  let watchdog: ChildProcess | undefined;
  try {
    watchdog = spawn('/bin/sh', ['-c', WATCHDOG, 'agent-server-tool-watchdog', String(pgid), start], {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
      env: { PATH: '/usr/bin:/bin' },
    });
    watchdog.on('error', () => {});
    watchdog.stdin!.on('error', () => {});
    watchdog.unref();
    (watchdog.stdin as unknown as { unref?: () => void }).unref?.();
  } catch {
    watchdog = undefined;
  }
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      killGroupIfSame(pgid, start);
      // SIGKILL, not EOF: the watchdog must not act on a group that is already gone.
      try {
        watchdog?.kill('SIGKILL');
      } catch {
        /* gone */
      }
      watchdog?.stdin?.destroy();
      if (record) {
        try {
          unlinkSync(record);
        } catch {
          /* gone with its directory */
        }
      }
    },
  };
}

function killQuietly(pgid: number | undefined) {
  if (pgid === undefined) return;
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}
