import type { z } from 'zod';
import { AppError, zodIssues } from '../errors.js';

/** Parses with a contract schema; failures become one 400 listing every issue. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, what = 'request body'): z.infer<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw invalidInput(r.error.issues, what);
}

/** Zod issues (from any parse, e.g. tRPC's input parsing) → the one 400. */
export function invalidInput(zIssues: ReadonlyArray<unknown>, what: string): AppError {
  const issues = zodIssues(zIssues as never);
  const summary = issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
  return new AppError('bad_request', `invalid ${what}: ${summary}`, { issues });
}
