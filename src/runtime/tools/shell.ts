import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import type { Tool } from './tool.js';
import { workspaceOf } from './tool.js';
import { trackProcessGroup } from './tool-processes.js';

/** stdout and stderr are each kept up to this many bytes; the rest is counted and dropped. */
export const MAX_SHELL_OUTPUT = 64 * 1024;

/**
 * `shell`: runs `/bin/sh -c <command>` in the workspace, with no stdin and a minimal environment
 * (the server's secrets are not passed on). The command gets its own process group, which is
 * killed as a whole when the call times out or the run is aborted, so no child outlives it. The
 * group is also tracked (watchdog + record, see tool-processes.ts) so it dies with the server too.
 */
export const shellTool: Tool = {
  name: 'shell',
  description: `Runs a shell command (/bin/sh -c) in the workspace directory, without stdin. Returns exit code, stdout and stderr (each cut at ${MAX_SHELL_OUTPUT} bytes). Killed when the tool times out.`,
  input_schema: { type: 'object', properties: { command: { type: 'string', minLength: 1 } }, required: ['command'], additionalProperties: false },
  async execute(input: { command: string }, ctx) {
    const cwd = workspaceOf(ctx);
    await mkdir(cwd, { recursive: true });
    ctx.signal.throwIfAborted();
    const child = spawn('/bin/sh', ['-c', input.command], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, LANG: process.env.LANG ?? 'C.UTF-8' },
    });
    // Tracked before anything can fail; releasing kills the whole group and stops tracking it.
    const group = trackProcessGroup(child);
    const killGroup = () => group.release();
    ctx.signal.addEventListener('abort', killGroup, { once: true });
    const collect = (stream: NodeJS.ReadableStream) => {
      const out = { chunks: [] as Buffer[], size: 0, dropped: 0 };
      stream.on('data', (c: Buffer) => {
        const room = MAX_SHELL_OUTPUT - out.size;
        if (room > 0) out.chunks.push(c.subarray(0, room));
        out.size += Math.min(room > 0 ? room : 0, c.length);
        out.dropped += Math.max(0, c.length - Math.max(room, 0));
      });
      return () => Buffer.concat(out.chunks).toString('utf8') + (out.dropped ? `\n…[${out.dropped} more bytes dropped]` : '');
    };
    const stdout = collect(child.stdout!);
    const stderr = collect(child.stderr!);
    try {
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
        child.on('error', reject);
        // Once the shell exits, children it left in the background (holding the pipes open) go too.
        child.on('exit', killGroup);
        child.on('close', (c, s) => resolve([c, s]));
      });
      ctx.signal.throwIfAborted();
      return { exit_code: code, ...(signal ? { signal } : {}), stdout: stdout(), stderr: stderr() };
    } finally {
      ctx.signal.removeEventListener('abort', killGroup);
      killGroup();
    }
  },
};
