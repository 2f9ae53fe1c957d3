import type { Usage } from '../../contracts/common.js';

/**
 * What the runtime tells observers (metrics, traces) about its runs. One scope per run stretch,
 * one per model call and tool call; the runtime never knows who listens. Every method must be
 * cheap and must not throw.
 */
export interface RunObserver {
  /** The trace id a run started under `parent` (a request's trace context) belongs to (stored with the run), if traced. */
  traceId(parent?: unknown): string | undefined;
  /** A run stretch was launched (new or resumed); queued until `began`. */
  run(info: RunInfo): RunScope;
  /** A store commit on the run's path (startRun, finishRun), in seconds. */
  commit(op: 'startRun' | 'finishRun', seconds: number): void;
}

export interface RunInfo {
  runId: string;
  threadId: string;
  agentId: string;
  origin: string;
  resumed: boolean;
  /** The trace context of the request that started or resumed it (Principal.trace). */
  parent?: unknown;
}

export interface RunScope {
  /** It has its thread turn: the queue wait is over. */
  began(): void;
  /** `startedAt`: when the request went out (performance.now(); a run's first call may go before the loop). */
  modelCall(info: { model: string; step: number; messages?: unknown; system?: string; startedAt: number }): ModelCallScope;
  toolCall(info: { name: string; id: string; input?: unknown }): ToolCallScope;
  approvalsRequested(count: number): void;
  approvalDecided(approved: boolean): void;
  /** The stretch ended with this status (completed, waiting, failed...). */
  finished(status: string): void;
}

export interface ModelCallScope {
  /** The first text, reasoning or tool delta of the answer (called once per call). */
  chunk(): void;
  end(result: ModelCallResult): void;
}

export interface ModelCallResult {
  /** `ok`, `error` or `cancelled`. */
  outcome: 'ok' | 'error' | 'cancelled';
  usage: Usage;
  responseId?: string;
  stopReason?: string | null;
  /** HTTP status of an upstream error, when there was one. */
  errorStatus?: number;
  errorType?: string;
  output?: unknown;
}

export interface ToolCallScope {
  end(outcome: 'ok' | 'error' | 'denied', output?: string): void;
}

const NOOP_MODEL: ModelCallScope = { chunk() {}, end() {} };
const NOOP_TOOL: ToolCallScope = { end() {} };
const NOOP_SCOPE: RunScope = {
  began() {},
  modelCall: () => NOOP_MODEL,
  toolCall: () => NOOP_TOOL,
  approvalsRequested() {},
  approvalDecided() {},
  finished() {},
};
export const NOOP_OBSERVER: RunObserver = { traceId: () => undefined, run: () => NOOP_SCOPE, commit() {} };
export const NOOP_RUN_SCOPE = NOOP_SCOPE;

/** Several observers as one (metrics and traces watch the same calls). */
export function combineObservers(list: RunObserver[]): RunObserver {
  if (list.length === 0) return NOOP_OBSERVER;
  if (list.length === 1) return list[0];
  return {
    traceId: (parent) => list.map((o) => o.traceId(parent)).find((t) => t !== undefined),
    commit: (op, s) => list.forEach((o) => o.commit(op, s)),
    run(info) {
      const scopes = list.map((o) => o.run(info));
      return {
        began: () => scopes.forEach((s) => s.began()),
        modelCall(m) {
          const calls = scopes.map((s) => s.modelCall(m));
          return { chunk: () => calls.forEach((c) => c.chunk()), end: (r) => calls.forEach((c) => c.end(r)) };
        },
        toolCall(t) {
          const calls = scopes.map((s) => s.toolCall(t));
          return { end: (o, out) => calls.forEach((c) => c.end(o, out)) };
        },
        approvalsRequested: (n) => scopes.forEach((s) => s.approvalsRequested(n)),
        approvalDecided: (a) => scopes.forEach((s) => s.approvalDecided(a)),
        finished: (st) => scopes.forEach((s) => s.finished(st)),
      };
    },
  };
}
