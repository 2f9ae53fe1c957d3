import type { z } from 'zod';
import { AppError, zodIssues } from '../errors.js';

/** Parses with a contract schema; failures become one 400 listing every issue. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, what = 'request body'): z.infer<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issues = zodIssues(r.error.issues as never);
  const summary = issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
  throw new AppError('bad_request', `invalid ${what}: ${summary}`, { issues });
}
