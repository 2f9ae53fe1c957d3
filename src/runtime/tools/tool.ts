import type { RunEvent } from '../../../contracts/events.js';
import type { Agent } from '../../agents.js';

export interface ToolContext {
  signal: AbortSignal;
  runId: string;
  threadId: string;
  /** Lets a tool publish events of its own (e.g. state deltas). */
  emit(event: RunEvent): void;
  /** The agent the run belongs to (its policies, timeouts and workspace). */
  agent?: Agent;
  /** Absolute root of the file and shell tools (set by the registry from the agent). */
  workspace?: string;
}

/** A server-side tool: the model sees name/description/input_schema; `execute` runs it. */
export interface Tool {
  name: string;
  description: string;
  input_schema: { type: 'object'; properties?: Record<string, unknown>; required?: string[]; [k: string]: unknown };
  execute(input: any, ctx: ToolContext): Promise<unknown>;
}

/** The workspace root of a call; file and shell tools cannot run without one. */
export function workspaceOf(ctx: ToolContext): string {
  if (!ctx.workspace) throw new Error('no workspace is configured for this agent');
  return ctx.workspace;
}
