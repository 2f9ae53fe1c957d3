import { lstat, mkdir, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

const inside = (root: string, p: string) => p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);

/**
 * Resolves a model-given path inside the workspace root, or throws (the model sees a tool error).
 * Refused: absolute paths, `..` leading out, and symlinks whose target is outside — checked on the
 * real path of the nearest existing ancestor, so a file not yet written is judged by its directory.
 */
export async function resolveInWorkspace(root: string, path: string): Promise<string> {
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
      return join(real, relative(existing, target));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      // Present but unresolvable: a dangling link, which a write would follow wherever it points.
      if (await lstat(existing).then(() => true, () => false)) throw new Error(`path is a broken symbolic link: ${path}`);
      existing = dirname(existing);
    }
  }
}

/** A path as the model should see it: relative to the root, with forward slashes. */
export async function displayPath(root: string, abs: string): Promise<string> {
  return relative(await realpath(root), abs).split(sep).join('/') || '.';
}
