import { z } from 'zod';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

/**
 * Page size. REST sends it as a query string, so it is coerced here (trpc-to-openapi
 * would otherwise flip `coerce` on the shared schema itself).
 */
export const Limit = z.coerce
  .number<number>({ error: 'limit must be a number' })
  .int('limit must be an integer')
  .min(1, 'limit must be at least 1')
  .max(MAX_PAGE_SIZE, `limit must be at most ${MAX_PAGE_SIZE}`)
  .default(DEFAULT_PAGE_SIZE)
  .describe(`Items per page, 1..${MAX_PAGE_SIZE}`);

/** Opaque keyset cursor: only ever a value the server returned as `next_cursor`. */
export const Cursor = z
  .string()
  .min(1, 'cursor must not be empty')
  .max(512, 'cursor is too long')
  .describe('Opaque cursor: the `next_cursor` of the previous page');

export const NextCursor = z.string().nullable().describe('Cursor for the next page; null on the last page');

/** A page of `item`; the id names the OpenAPI component. */
export const page = <T extends z.ZodType>(item: T, id: string) => z.object({ items: z.array(item), next_cursor: NextCursor }).meta({ id });
