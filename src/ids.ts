import { randomBytes } from 'node:crypto';

let last = 0;
let counter = 0;

/**
 * Time-ordered ids (`run_0m3k9x2a1b00f3a9c1e2d4`): sorting by id sorts by creation,
 * which keeps keyset pagination and logs readable.
 */
export function newId(prefix: string): string {
  const now = Date.now();
  counter = now === last ? counter + 1 : 0;
  last = now;
  return `${prefix}_${now.toString(36).padStart(9, '0')}${counter.toString(36).padStart(3, '0')}${randomBytes(6).toString('hex')}`;
}
