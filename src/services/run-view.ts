// A stored run as the API shows it (every surface and the webhook payload alike): `owner` is its thread's principal; the instance column stays internal.
import type { Run } from '../../contracts/runs.js';
import type { RunRecord } from '../store/runs.js';

export function toRun(r: RunRecord): Run {
  const { owner: _instance, principal, ...rest } = r;
  // Stored in the run's input (no column of its own): the trace of the request that started it.
  const traceId = (r.input as { trace_id?: unknown } | null)?.trace_id;
  return { ...rest, owner: principal, trace_id: typeof traceId === 'string' ? traceId : null } as Run;
}
