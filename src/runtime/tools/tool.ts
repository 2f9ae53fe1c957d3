import type { RunEvent } from '../../../contracts/events.js';

export interface ToolContext {
  signal: AbortSignal;
  runId: string;
  threadId: string;
  /** Lets a tool publish events of its own (e.g. state deltas). */
  emit(event: RunEvent): void;
}

/** A server-side tool: the model sees name/description/input_schema; `execute` runs it. */
export interface Tool {
  name: string;
  description: string;
  input_schema: { type: 'object'; properties?: Record<string, unknown>; required?: string[]; [k: string]: unknown };
  execute(input: any, ctx: ToolContext): Promise<unknown>;
}
