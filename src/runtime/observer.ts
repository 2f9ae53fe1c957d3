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

/**
 * Several observers as one (metrics and traces watch the same calls), folded into pairs: a run's
 * scope is then one object, not an array and a closure per method, on every run and call.
 */
export function combineObservers(list: RunObserver[]): RunObserver {
  return list.length === 0 ? NOOP_OBSERVER : list.reduce((a, b) => new BothObservers(a, b));
}

class BothObservers implements RunObserver {
  constructor(
    private readonly a: RunObserver,
    private readonly b: RunObserver,
  ) {}
  traceId(parent?: unknown): string | undefined {
    return this.a.traceId(parent) ?? this.b.traceId(parent);
  }
  commit(op: 'startRun' | 'finishRun', seconds: number): void {
    this.a.commit(op, seconds);
    this.b.commit(op, seconds);
  }
  run(info: RunInfo): RunScope {
    return new BothRuns(this.a.run(info), this.b.run(info));
  }
}

class BothRuns implements RunScope {
  constructor(
    private readonly a: RunScope,
    private readonly b: RunScope,
  ) {}
  began(): void {
    this.a.began();
    this.b.began();
  }
  modelCall(info: Parameters<RunScope['modelCall']>[0]): ModelCallScope {
    return new BothModelCalls(this.a.modelCall(info), this.b.modelCall(info));
  }
  toolCall(info: Parameters<RunScope['toolCall']>[0]): ToolCallScope {
    return new BothToolCalls(this.a.toolCall(info), this.b.toolCall(info));
  }
  approvalsRequested(count: number): void {
    this.a.approvalsRequested(count);
    this.b.approvalsRequested(count);
  }
  approvalDecided(approved: boolean): void {
    this.a.approvalDecided(approved);
    this.b.approvalDecided(approved);
  }
  finished(status: string): void {
    this.a.finished(status);
    this.b.finished(status);
  }
}

class BothModelCalls implements ModelCallScope {
  constructor(
    private readonly a: ModelCallScope,
    private readonly b: ModelCallScope,
  ) {}
  chunk(): void {
    this.a.chunk();
    this.b.chunk();
  }
  end(result: ModelCallResult): void {
    this.a.end(result);
    this.b.end(result);
  }
}

class BothToolCalls implements ToolCallScope {
  constructor(
    private readonly a: ToolCallScope,
    private readonly b: ToolCallScope,
  ) {}
  end(outcome: 'ok' | 'error' | 'denied', output?: string): void {
    this.a.end(outcome, output);
    this.b.end(outcome, output);
  }
}
