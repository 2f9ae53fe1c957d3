// MCP servers' tools as agent tools: connected at start-up, named `<server>__<tool>`.
import type { Logger } from 'pino';
import { MCP_SEPARATOR, type Agent, type McpServerSpec } from '../../agents.js';
import type { Tool } from './tool.js';
import type { McpConnection } from './mcp-connection.js';

/** What the Messages API accepts as a tool name. */
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

function withoutDialect(schema: Tool['input_schema']): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = schema ?? {};
  return rest;
}

/** Every MCP server the agents declare, by name (the agents file guarantees one spec per name). */
export function mcpServersOf(agents: Iterable<Agent>): Map<string, McpServerSpec> {
  const servers = new Map<string, McpServerSpec>();
  for (const a of agents) for (const [name, spec] of Object.entries(a.mcpServers ?? {})) servers.set(name, spec);
  return servers;
}

/** Connects the configured MCP servers at start-up and exposes their tools as `<server>__<tool>`. */
export class McpManager {
  private readonly connections: McpConnection[] = [];

  constructor(
    private readonly logger: Logger,
    private readonly startTimeoutMs: number,
  ) {}

  /** A server that fails to start is reported (one warning naming it) and contributes no tools. */
  async start(servers: ReadonlyMap<string, McpServerSpec>): Promise<{ tools: Tool[]; listed: Map<string, string[]> }> {
    const tools: Tool[] = [];
    const listed = new Map<string, string[]>();
    if (!servers.size) return { tools, listed };
    // The MCP SDK is loaded only by a server that uses it (start-up time).
    const { McpConnection, resultText } = await import('./mcp-connection.js');
    await Promise.all(
      [...servers].map(async ([name, spec]) => {
        const conn = new McpConnection(name, spec, this.logger, this.startTimeoutMs);
        try {
          await conn.connect();
          const found = await conn.listTools();
          this.connections.push(conn);
          const names: string[] = [];
          for (const t of found) {
            const full = `${name}${MCP_SEPARATOR}${t.name}`;
            if (!TOOL_NAME.test(full)) {
              this.logger.warn({ mcp_server: name, tool: t.name }, 'MCP tool skipped: its name is not a valid model tool name');
              continue;
            }
            names.push(full);
            tools.push({
              name: full,
              description: t.description ?? '',
              // The dialect marker ($schema) is not part of what the Messages API needs.
              input_schema: { ...withoutDialect(t.inputSchema), type: 'object' },
              async execute(input, ctx) {
                const result = await conn.call(t.name, input, ctx.signal);
                const text = resultText(result);
                if (result.isError) throw new Error(text || `MCP tool ${full} failed`);
                return text;
              },
            });
          }
          listed.set(name, names);
          this.logger.info({ mcp_server: name, tools: names.length }, 'MCP server connected');
        } catch (err) {
          await conn.close();
          this.logger.warn({ mcp_server: name, err: (err as Error).message }, `MCP server "${name}" failed to start; its tools are unavailable`);
        }
      }),
    );
    return { tools, listed };
  }

  async close(): Promise<void> {
    await Promise.all(this.connections.map((c) => c.close()));
  }
}
