import type { z } from 'zod';
import { invalidInput } from '../errors.js';

export { invalidInput };

/** Parses with a contract schema; failures become one 400 listing every issue. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, what = 'request body'): z.infer<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw invalidInput(r.error.issues, what);
}
