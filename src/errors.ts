import type { ErrorBody, ErrorCode } from '../contracts/common.js';

const STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  request_timeout: 408,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  budget_exceeded: 429,
  cancelled: 409,
  // multitask_strategy "reject" and the thread has a queued or running run.
  thread_busy: 409,
  timeout: 504,
  upstream_error: 502,
  // A turn too large for the model's context window even after compaction.
  context_overflow: 400,
  unavailable: 503,
  internal: 500,
};

/** The one error type: every layer throws it, every route renders it the same way. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly issues?: ErrorBody['issues'];
  readonly extra?: Pick<ErrorBody, 'run_id' | 'session_id'>;
  /** Response headers that belong to the error (Retry-After, RateLimit-*); every HTTP error path sets them. */
  readonly headers?: Readonly<Record<string, string>>;
  constructor(code: ErrorCode, message: string, opts: { issues?: ErrorBody['issues']; extra?: AppError['extra']; cause?: unknown; headers?: Record<string, string> } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.issues = opts.issues;
    this.extra = opts.extra;
    this.headers = opts.headers;
  }
  get status(): number {
    return STATUS[this.code];
  }
}

/** Normalises anything thrown into an AppError; unknown errors become `internal` with a generic message. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  return new AppError('internal', 'internal server error', { cause: err });
}

export function errorBody(err: AppError, opts: { exposeStack: boolean }): ErrorBody & { stack?: string } {
  const body: ErrorBody & { stack?: string } = { error: err.message, code: err.code };
  if (err.issues) body.issues = err.issues;
  if (err.extra) Object.assign(body, err.extra);
  if (opts.exposeStack && err.code === 'internal') {
    const cause = err.cause instanceof Error ? err.cause : err;
    body.stack = cause.stack;
  }
  return body;
}

/** Zod issues → our issue list (path + message). */
export function zodIssues(issues: ReadonlyArray<{ path: PropertyKey[]; message: string; code?: string; keys?: string[] }>): NonNullable<ErrorBody['issues']> {
  return issues.map((i) => ({
    path: i.path.map((p) => (typeof p === 'number' ? p : String(p))),
    message: i.code === 'unrecognized_keys' && i.keys ? `unknown field(s): ${i.keys.join(', ')}` : i.message,
  }));
}

/** Zod issues (from any parse, e.g. tRPC's input parsing) → the one 400. */
export function invalidInput(zIssues: ReadonlyArray<unknown>, what: string): AppError {
  const issues = zodIssues(zIssues as never);
  const summary = issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
  return new AppError('bad_request', `invalid ${what}: ${summary}`, { issues });
}

/** 409 under multitask_strategy `reject`: the thread has a queued or running run. */
export function threadBusy(threadId: string): AppError {
  return new AppError('thread_busy', `thread "${threadId}" has a queued or running run (multitask_strategy "reject")`);
}
