import { lstat, readdir, type FileHandle } from 'node:fs/promises';
import type { Tool } from './tool.js';
import { workspaceOf } from './tool.js';
import { createInWorkspace, fdPath, openEntryNoFollow, openInWorkspace, writeAll } from './workspace-path.js';

/** Files larger than this are read only up to here (and skipped by search). */
export const MAX_READ_BYTES = 1_000_000;
export const MAX_LIST_ENTRIES = 1_000;
export const MAX_SEARCH_RESULTS = 200;
/** Search stops after visiting this many files, so a huge tree cannot stall a run. */
export const MAX_SEARCH_FILES = 5_000;

const pathProp = { type: 'string', description: 'Path relative to the workspace root' };

export const readFileTool: Tool = {
  name: 'read_file',
  description: `Reads a UTF-8 text file from the workspace (at most ${MAX_READ_BYTES} bytes).`,
  input_schema: { type: 'object', properties: { path: pathProp }, required: ['path'], additionalProperties: false },
  async execute(input: { path: string }, ctx) {
    // Every tool works on descriptors verified to be inside the workspace, never on a checked path.
    const { handle } = await openInWorkspace(workspaceOf(ctx), input.path, 'read');
    try {
      const buf = Buffer.alloc(MAX_READ_BYTES + 1);
      const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
      const text = buf.subarray(0, Math.min(bytesRead, MAX_READ_BYTES)).toString('utf8');
      return bytesRead > MAX_READ_BYTES ? `${text}\n…[file longer than ${MAX_READ_BYTES} bytes; rest not read]` : text;
    } finally {
      await handle.close();
    }
  },
};

export const writeFileTool: Tool = {
  name: 'write_file',
  description: 'Creates or overwrites a UTF-8 text file in the workspace (parent directories are created).',
  input_schema: { type: 'object', properties: { path: pathProp, content: { type: 'string' } }, required: ['path', 'content'], additionalProperties: false },
  async execute(input: { path: string; content: string }, ctx) {
    const handle = await createInWorkspace(workspaceOf(ctx), input.path);
    try {
      await writeAll(handle, input.content);
    } finally {
      await handle.close();
    }
    return `wrote ${Buffer.byteLength(input.content)} bytes to ${input.path}`;
  },
};

export const editFileTool: Tool = {
  name: 'edit_file',
  description: 'Replaces an exact string in a workspace file. old_string must occur exactly once unless replace_all is true.',
  input_schema: {
    type: 'object',
    properties: { path: pathProp, old_string: { type: 'string', minLength: 1 }, new_string: { type: 'string' }, replace_all: { type: 'boolean' } },
    required: ['path', 'old_string', 'new_string'],
    additionalProperties: false,
  },
  async execute(input: { path: string; old_string: string; new_string: string; replace_all?: boolean }, ctx) {
    // One descriptor for the read and the write: the file edited is the file read.
    const { handle } = await openInWorkspace(workspaceOf(ctx), input.path, 'update');
    let count: number;
    try {
      const parts = (await handle.readFile('utf8')).split(input.old_string);
      count = parts.length - 1;
      if (count === 0) throw new Error(`old_string not found in ${input.path}`);
      if (count > 1 && !input.replace_all) throw new Error(`old_string occurs ${count} times in ${input.path}; make it unique or set replace_all`);
      // split/join, not String.replace: `$` in new_string must stay literal.
      await handle.truncate(0);
      await writeAll(handle, parts.join(input.new_string));
    } finally {
      await handle.close();
    }
    return `replaced ${count} occurrence(s) in ${input.path}`;
  },
};

export const listDirTool: Tool = {
  name: 'list_dir',
  description: `Lists a workspace directory (default: the root): name, type and size, at most ${MAX_LIST_ENTRIES} entries.`,
  input_schema: { type: 'object', properties: { path: pathProp }, additionalProperties: false },
  async execute(input: { path?: string }, ctx) {
    const { handle, display } = await openInWorkspace(workspaceOf(ctx), input.path ?? '.', 'dir');
    try {
      const dir = fdPath(handle);
      const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
      const items = await Promise.all(
        entries.slice(0, MAX_LIST_ENTRIES).map(async (e) => {
          const type = e.isDirectory() ? 'dir' : e.isSymbolicLink() ? 'symlink' : e.isFile() ? 'file' : 'other';
          // lstat: an entry swapped for a link since readdir is not followed out.
          const size = type === 'file' ? await lstat(`${dir}/${e.name}`).then((s) => s.size, () => undefined) : undefined;
          return { name: e.name, type, ...(size !== undefined ? { size } : {}) };
        }),
      );
      return { path: display, entries: items, ...(entries.length > MAX_LIST_ENTRIES ? { truncated: true } : {}) };
    } finally {
      await handle.close();
    }
  },
};

export const searchFilesTool: Tool = {
  name: 'search_files',
  description: `Searches workspace files line by line for a substring (or a JavaScript regular expression with regex: true). Returns "path:line: text", at most ${MAX_SEARCH_RESULTS} matches. Symbolic links are not followed.`,
  input_schema: {
    type: 'object',
    properties: { pattern: { type: 'string', minLength: 1, maxLength: 500 }, path: pathProp, regex: { type: 'boolean' }, ignore_case: { type: 'boolean' } },
    required: ['pattern'],
    additionalProperties: false,
  },
  async execute(input: { pattern: string; path?: string; regex?: boolean; ignore_case?: boolean }, ctx) {
    let start: Awaited<ReturnType<typeof openInWorkspace>>;
    try {
      start = await openInWorkspace(workspaceOf(ctx), input.path ?? '.', 'dir');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') throw new Error(`${input.path} is not a directory`);
      throw err;
    }
    const needle = input.ignore_case ? input.pattern.toLowerCase() : input.pattern;
    const re = input.regex ? new RegExp(input.pattern, input.ignore_case ? 'i' : '') : undefined;
    // Long lines are cut before matching: bounds the work of a pathological regex.
    const matches = (line: string) => (re ? re.test(line.slice(0, 2_000)) : (input.ignore_case ? line.toLowerCase() : line).includes(needle));
    const results: string[] = [];
    let visited = 0;
    // Entries are opened through their directory's descriptor with O_NOFOLLOW: a directory or file
    // swapped for a link during the walk is skipped, never followed out.
    const walk = async (dir: FileHandle, rel: string): Promise<void> => {
      for (const e of await readdir(fdPath(dir), { withFileTypes: true })) {
        if (results.length >= MAX_SEARCH_RESULTS || visited >= MAX_SEARCH_FILES || ctx.signal.aborted) return;
        const path = rel === '.' ? e.name : `${rel}/${e.name}`;
        if (!e.isDirectory() && !e.isFile()) continue;
        const handle = await openEntryNoFollow(dir, e.name, e.isDirectory() ? 'dir' : 'file');
        if (!handle) continue;
        try {
          if (e.isDirectory()) {
            await walk(handle, path);
            continue;
          }
          visited++;
          if ((await handle.stat()).size > MAX_READ_BYTES) continue;
          const text = await handle.readFile('utf8');
          if (text.includes('\0')) continue; // binary
          text.split('\n').forEach((line, i) => {
            if (results.length < MAX_SEARCH_RESULTS && matches(line)) results.push(`${path}:${i + 1}: ${line.slice(0, 500)}`);
          });
        } finally {
          await handle.close();
        }
      }
    };
    try {
      await walk(start.handle, start.display);
    } finally {
      await start.handle.close();
    }
    if (!results.length) return 'no matches';
    return results.join('\n') + (results.length >= MAX_SEARCH_RESULTS || visited >= MAX_SEARCH_FILES ? '\n…[search stopped at its limit]' : '');
  },
};

export const FILE_TOOLS: Tool[] = [readFileTool, writeFileTool, editFileTool, listDirTool, searchFilesTool];
