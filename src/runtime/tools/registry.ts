import type { ToolCall } from '../../../contracts/common.js';
import { currentTime } from './current-time.js';
import type { Tool, ToolContext } from './tool.js';

/** Tool results longer than this are cut, with a marker the model can read. */
export const MAX_TOOL_OUTPUT = 100_000;

export class ToolRegistry {
  private readonly tools = new Map<string, Tool>();

  constructor(tools: Tool[] = [currentTime]) {
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

  /** Runs one call; every failure (unknown tool, throw, timeout) becomes an `is_error` result. */
  async run(call: { id: string; name: string; input: unknown }, allowed: ReadonlySet<string>, ctx: ToolContext, timeoutMs: number): Promise<ToolCall> {
    const tool = allowed.has(call.name) ? this.tools.get(call.name) : undefined;
    if (!tool) return { ...call, output: `unknown tool: ${call.name}`, is_error: true };
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = AbortSignal.any([ctx.signal, timeout]);
    try {
      const value = await Promise.race([
        tool.execute(call.input ?? {}, { ...ctx, signal }),
        new Promise<never>((_, reject) => {
          signal.addEventListener('abort', () => reject(timeout.aborted ? new Error(`tool timed out after ${timeoutMs} ms`) : signal.reason), { once: true });
        }),
      ]);
      return { ...call, output: truncate(typeof value === 'string' ? value : JSON.stringify(value) ?? ''), is_error: false };
    } catch (err) {
      return { ...call, output: truncate(err instanceof Error ? err.message : String(err)), is_error: true };
    }
  }
}

function truncate(s: string): string {
  return s.length <= MAX_TOOL_OUTPUT ? s : `${s.slice(0, MAX_TOOL_OUTPUT)}\n…[truncated ${s.length - MAX_TOOL_OUTPUT} characters]`;
}
