import type { RunResult } from '../../../contracts/run.js';
import type { RunEvent } from '../../../contracts/events.js';
import type { LiveRun, PublishedEvent } from '../../runtime/live-run.js';
import { AppError } from '../../errors.js';
import type { ErrorCode } from '../../../contracts/common.js';

/**
 * The lean API's SSE mapping: canonical events as they are, with `session_id`/`run_id`
 * added to the first and the terminal event.
 */
export function leanFrame(e: PublishedEvent, sessionId: string, runId: string): string {
  const t = e.event.type;
  if (t === 'run.started' || t === 'run.finished' || t === 'run.error') {
    return JSON.stringify({ ...e.event, session_id: sessionId, run_id: runId });
  }
  return e.json;
}

export const LEAN_PING = 'data: {"type":"ping"}\n\n';

/** Terminal event → the blocking API's answer: a result, or the error to throw. */
export function leanResult(terminal: RunEvent, sessionId: string, runId: string): RunResult {
  const extra = { session_id: sessionId, run_id: runId };
  if (terminal.type === 'run.finished') {
    if (terminal.status === 'cancelled') throw new AppError('cancelled', 'the run was cancelled', { extra });
    return { ...extra, output: terminal.output, stop_reason: terminal.stop_reason, usage: terminal.usage, tool_calls: terminal.tool_calls };
  }
  if (terminal.type === 'run.error') {
    const code: ErrorCode = terminal.code === 'interrupted' ? 'unavailable' : isErrorCode(terminal.code) ? terminal.code : 'internal';
    throw new AppError(code, terminal.message, { extra });
  }
  throw new AppError('internal', `run ended without a terminal event`, { extra });
}

/** The blocking call (`POST /v1/run`, tRPC `run`): waits for the run's end, then answers as leanResult. */
export async function leanOutcome(run: LiveRun): Promise<RunResult> {
  await run.done;
  return leanResult(run.events[run.events.length - 1].event, run.threadId, run.runId);
}

const CODES = new Set<string>(['bad_request', 'not_found', 'conflict', 'cancelled', 'timeout', 'upstream_error', 'context_overflow', 'unavailable', 'internal']);
const isErrorCode = (c: string): c is ErrorCode => CODES.has(c);
