import type { ToolCall } from '../../../contracts/common.js';
import { policyOf } from '../../agents.js';
import { inputProblem } from './input-validation.js';
import type { Tool, ToolContext } from './tool.js';

/** Tool results longer than this are cut, with a marker the model can read. */
export const MAX_TOOL_OUTPUT = 100_000;

export class ToolRegistry {
  private readonly tools = new Map<string, Tool>();

  constructor(tools: Tool[]) {
    this.add(tools);
  }

  /** Registers tools found later (MCP servers list theirs after start-up). */
  add(tools: Tool[]): void {
    for (const t of tools) this.tools.set(t.name, t);
  }

  names(): ReadonlySet<string> {
    return new Set(this.tools.keys());
  }

  get(name: string): Tool | undefined {
    return this.tools.get(name);
  }

  /** The Anthropic `tools` parameter for a set of names. */
  definitions(names: string[]): Array<Pick<Tool, 'name' | 'description' | 'input_schema'>> {
    return names.flatMap((n) => {
      const t = this.tools.get(n);
      return t ? [{ name: t.name, description: t.description, input_schema: t.input_schema }] : [];
    });
  }

  /**
   * Runs one call; every failure (unknown or denied tool, input not matching the schema, throw,
   * timeout) becomes an `is_error` result. `ctx.agent` brings per-tool timeouts and the workspace.
   */
  async run(call: { id: string; name: string; input: unknown }, allowed: ReadonlySet<string>, ctx: ToolContext, timeoutMs: number): Promise<ToolCall> {
    const denied = ctx.agent !== undefined && policyOf(ctx.agent, call.name) === 'deny';
    const tool = allowed.has(call.name) && !denied ? this.tools.get(call.name) : undefined;
    if (!tool) return { ...call, output: `unknown tool: ${call.name}`, is_error: true };
    const input = call.input ?? {};
    const problem = await inputProblem(tool, input);
    if (problem) return { ...call, output: problem, is_error: true };
    timeoutMs = ctx.agent?.toolTimeouts?.get(call.name) ?? timeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = AbortSignal.any([ctx.signal, timeout]);
    let onAbort: (() => void) | undefined;
    try {
      // The tool is not awaited past its signal: a tool that ignores the signal cannot hold the run.
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(timeout.aborted ? new Error(`tool timed out after ${timeoutMs} ms`) : signal.reason);
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      });
      aborted.catch(() => {}); // settled by the race below, or never looked at (the tool threw first)
      const value = await Promise.race([tool.execute(input, { ...ctx, signal, workspace: ctx.agent?.workspace ?? ctx.workspace }), aborted]);
      return { ...call, output: truncate(typeof value === 'string' ? value : JSON.stringify(value) ?? ''), is_error: false };
    } catch (err) {
      return { ...call, output: truncate(err instanceof Error ? err.message : String(err)), is_error: true };
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }
}

function truncate(s: string): string {
  return s.length <= MAX_TOOL_OUTPUT ? s : `${s.slice(0, MAX_TOOL_OUTPUT)}\n…[truncated ${s.length - MAX_TOOL_OUTPUT} characters]`;
}
