import { constants, existsSync } from 'node:fs';
import { lstat, mkdir, open, readlink, realpath, type FileHandle } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

const { O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_NOFOLLOW, O_DIRECTORY, O_NONBLOCK, O_NOCTTY } = constants;

const inside = (root: string, p: string) => p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);
const code = (err: unknown) => (err as NodeJS.ErrnoException).code;

async function check(root: string, path: string): Promise<{ realRoot: string; target: string }> {
  if (typeof path !== 'string' || path.includes('\0')) throw new Error('path must be a string');
  if (isAbsolute(path) || /^[a-zA-Z]:/.test(path) || path.startsWith('\\')) throw new Error(`path must be relative to the workspace: ${path}`);
  await mkdir(root, { recursive: true });
  const realRoot = await realpath(root);
  const target = resolve(realRoot, path);
  if (!inside(realRoot, target)) throw new Error(`path leaves the workspace: ${path}`);
  let existing = target;
  for (;;) {
    try {
      const real = await realpath(existing);
      if (!inside(realRoot, real)) throw new Error(`path leaves the workspace through a symbolic link: ${path}`);
      // The existing part is real; what is not there yet is appended as given (it has no links).
      return { realRoot, target: join(real, relative(existing, target)) };
    } catch (err) {
      if (code(err) !== 'ENOENT') throw err;
      // Present but unresolvable: a dangling link, which a write would follow wherever it points.
      if (await lstat(existing).then(() => true, () => false)) throw new Error(`path is a broken symbolic link: ${path}`);
      existing = dirname(existing);
    }
  }
}

/**
 * Resolves a model-given path inside the workspace root, or throws (the model sees a tool error).
 * Refused: absolute paths, `..` leading out, and symlinks whose target is outside — checked on the
 * real path of the nearest existing ancestor, so a file not yet written is judged by its directory.
 * This gives clear errors but is only a pre-check: a link can be swapped right after it. The
 * `open…` functions below are what makes access safe.
 */
export async function resolveInWorkspace(root: string, path: string): Promise<string> {
  return (await check(root, path)).target;
}

/** A path as the model should see it: relative to the root, with forward slashes. */
export async function displayPath(root: string, abs: string): Promise<string> {
  return relative(await realpath(root), abs).split(sep).join('/') || '.';
}

/**
 * The kernel's name for an open descriptor. Opening `${fdPath(h)}/name` looks `name` up in that
 * very directory (like openat), whatever happens to the path that led to it.
 */
export const fdPath = (h: FileHandle) => `/proc/self/fd/${h.fd}`;

const PROC_FD = process.platform === 'linux' && existsSync('/proc/self/fd');

/**
 * Opens, then checks where the descriptor really is: the kernel resolved every link at open time,
 * so a link swapped before or after cannot make us use an outside file (no check-then-use gap).
 */
async function openVerified(realRoot: string, path: string, flags: number, shown: string, mode?: number): Promise<{ handle: FileHandle; real: string }> {
  // Fail closed where descriptors cannot be verified.
  if (!PROC_FD) throw new Error('the file tools need /proc/self/fd (Linux)');
  const handle = await open(path, flags, mode);
  try {
    const real = await readlink(fdPath(handle));
    if (!inside(realRoot, real)) throw new Error(`path leaves the workspace through a symbolic link: ${shown}`);
    return { handle, real };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

async function regular(handle: FileHandle, shown: string): Promise<void> {
  if (!(await handle.stat()).isFile()) {
    await handle.close();
    throw new Error(`not a regular file: ${shown}`);
  }
}

export interface OpenedInWorkspace {
  handle: FileHandle;
  /** Its path relative to the root, forward slashes (`.` for the root). */
  display: string;
}

/**
 * Opens an existing file (`read`, or `update` for read-write) or directory (`dir`) of the
 * workspace. Links are followed, but the result is refused unless it is inside the root.
 * Non-blocking open and the regular-file check keep a FIFO or device from hanging a call.
 */
export async function openInWorkspace(root: string, path: string, kind: 'read' | 'update' | 'dir'): Promise<OpenedInWorkspace> {
  const { realRoot, target } = await check(root, path);
  const flags = kind === 'dir' ? O_RDONLY | O_DIRECTORY : (kind === 'read' ? O_RDONLY : O_RDWR) | O_NONBLOCK | O_NOCTTY;
  const { handle, real } = await openVerified(realRoot, target, flags, path);
  if (kind !== 'dir') await regular(handle, path);
  return { handle, display: relative(realRoot, real).split(sep).join('/') || '.' };
}

/**
 * Opens a file for writing, creating it and missing parent directories, and truncates it only
 * once it is known to be inside: each directory is opened and verified, the next one looked up in
 * it through its descriptor; a new file is created with O_EXCL|O_NOFOLLOW in the verified parent;
 * an existing one (or an existing link, which may point inside) is opened without O_TRUNC, verified,
 * then truncated. A dangling link is refused, never followed.
 */
export async function createInWorkspace(root: string, path: string): Promise<FileHandle> {
  const { realRoot, target } = await check(root, path);
  const parts = relative(realRoot, target).split(sep).filter(Boolean);
  const name = parts.pop();
  if (!name) throw new Error(`is a directory: ${path}`);
  let dir = (await openVerified(realRoot, realRoot, O_RDONLY | O_DIRECTORY, path)).handle;
  try {
    for (const part of parts) {
      const next = await openDirIn(realRoot, dir, part, path);
      await dir.close();
      dir = next;
    }
    return await openFileIn(realRoot, dir, name, path);
  } catch (err) {
    // Errors from the descriptor paths would name /proc/self/fd/N: name the model's path instead.
    if (code(err) && String((err as Error).message).includes('/proc/self/fd/')) throw new Error(`cannot write ${path}: ${code(err)}`);
    throw err;
  } finally {
    await dir.close();
  }
}

async function openDirIn(realRoot: string, dir: FileHandle, part: string, shown: string): Promise<FileHandle> {
  const p = `${fdPath(dir)}/${part}`;
  try {
    return (await openVerified(realRoot, p, O_RDONLY | O_DIRECTORY, shown)).handle;
  } catch (err) {
    if (code(err) !== 'ENOENT') throw err;
  }
  try {
    await mkdir(p);
  } catch (err) {
    if (code(err) !== 'EEXIST') throw err;
  }
  try {
    return (await openVerified(realRoot, p, O_RDONLY | O_DIRECTORY, shown)).handle;
  } catch (err) {
    if (code(err) === 'ENOENT' && (await isLink(p))) throw new Error(`path is a broken symbolic link: ${shown}`);
    throw err;
  }
}

async function openFileIn(realRoot: string, dir: FileHandle, name: string, shown: string): Promise<FileHandle> {
  const p = `${fdPath(dir)}/${name}`;
  // A few rounds: the entry may appear or vanish between the two opens.
  for (let round = 0; round < 3; round++) {
    try {
      const { handle } = await openVerified(realRoot, p, O_WRONLY | O_NONBLOCK | O_NOCTTY, shown);
      await regular(handle, shown);
      await handle.truncate(0).catch(async (err) => {
        await handle.close();
        throw err;
      });
      return handle;
    } catch (err) {
      if (code(err) !== 'ENOENT') throw err;
    }
    try {
      return await open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY, 0o666);
    } catch (err) {
      if (code(err) !== 'EEXIST') throw err;
      if (await isLink(p)) throw new Error(`path is a broken symbolic link: ${shown}`);
    }
  }
  throw new Error(`path keeps changing, try again: ${shown}`);
}

const isLink = (p: string) => lstat(p).then((s) => s.isSymbolicLink(), () => false);

/**
 * For walks that must not follow links (search): opens `name` inside the open directory `dir`,
 * refusing a link (O_NOFOLLOW). Null when it is a link, not of the kind asked, or gone.
 */
export async function openEntryNoFollow(dir: FileHandle, name: string, kind: 'file' | 'dir'): Promise<FileHandle | null> {
  const flags = O_RDONLY | O_NOFOLLOW | (kind === 'dir' ? O_DIRECTORY : O_NONBLOCK | O_NOCTTY);
  let handle: FileHandle;
  try {
    handle = await open(`${fdPath(dir)}/${name}`, flags);
  } catch (err) {
    if (['ELOOP', 'ENOTDIR', 'ENOENT', 'EACCES', 'ENXIO'].includes(code(err) ?? '')) return null;
    throw err;
  }
  if (kind === 'file' && !(await handle.stat()).isFile()) {
    await handle.close();
    return null;
  }
  return handle;
}

/** Writes all of `data` at offset 0 (FileHandle.writeFile would start at the current position). */
export async function writeAll(handle: FileHandle, data: string): Promise<void> {
  const buf = Buffer.from(data);
  for (let off = 0; off < buf.length; ) off += (await handle.write(buf, off, buf.length - off, off)).bytesWritten;
}
