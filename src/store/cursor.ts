import type { ExpressionBuilder } from 'kysely';
import { z } from 'zod';
import { AppError } from '../errors.js';

/**
 * Keyset cursors, opaque to clients: base64url of a JSON array `[kind, ...key]`.
 * The kind keeps a cursor from one listing from being used on another.
 */
export function encodeCursor(kind: string, ...key: Array<string | number>): string {
  return Buffer.from(JSON.stringify([kind, ...key])).toString('base64url');
}

const Time = z.iso.datetime();
const KEYS = {
  thread: z.tuple([z.literal('thread'), Time, z.string().min(1)]),
  run: z.tuple([z.literal('run'), Time, z.string().min(1)]),
  message: z.tuple([z.literal('message'), z.number().int().nonnegative()]),
};
type Kind = keyof typeof KEYS;

/** The key inside a cursor the server issued; anything else is a 400 naming the field. */
export function decodeCursor<K extends Kind>(kind: K, raw: string, field = 'cursor'): z.infer<(typeof KEYS)[K]> {
  let value: unknown;
  if (/^[A-Za-z0-9_-]+$/.test(raw)) {
    try {
      value = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    } catch {
      /* reported below */
    }
  }
  const parsed = KEYS[kind].safeParse(value);
  if (!parsed.success) {
    throw new AppError('bad_request', `${field} is not a valid cursor for this listing`, { issues: [{ path: [field], message: 'malformed cursor' }] });
  }
  return parsed.data as z.infer<(typeof KEYS)[K]>;
}

/** Rows fetched with `limit + 1`: the extra row only says another page exists. */
export function toPage<T, R>(rows: T[], limit: number, map: (row: T) => R, cursorOf: (row: T) => string): { items: R[]; next_cursor: string | null } {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  return { items: kept.map(map), next_cursor: more ? cursorOf(kept[kept.length - 1]) : null };
}

/**
 * Rows after (at, id) in newest-first order. Rows inserted while a client pages are
 * newer than its cursor, so they never shift the pages it has yet to read.
 */
export const olderThan =
  (at: string, id: string) =>
  (eb: ExpressionBuilder<any, any>) =>
    eb.or([eb('created_at', '<', at), eb.and([eb('created_at', '=', at), eb('id', '<', id)])]);
