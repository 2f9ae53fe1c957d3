// One MCP server connection (the MCP SDK), loaded only when an agent declares MCP servers.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import type { McpServerSpec } from '../../agents.js';
import type { Tool } from './tool.js';

/** The registry's timeout (with the run's abort signal) bounds a call; the SDK's own 60 s default must not cut in first. */
const NO_SDK_TIMEOUT = 2 ** 31 - 1;
type CallResult = Awaited<ReturnType<Client['callTool']>>;

/**
 * One MCP server: a client that every call reuses, re-created when its connection is gone.
 *
 * Restarts: a connection found closed (a stdio process that exited, an HTTP server that failed)
 * is opened again by the next call. A call is retried once, on a fresh connection, only when the
 * server cannot have seen it: the client was not connected, or an HTTP server answered 404 for an
 * expired session (the MCP spec's signal to start a new session). A call in flight when a stdio
 * process dies is not retried, since the tool may have acted: it fails, and the next call restarts
 * the server.
 */
export class McpConnection {
  private client?: Client;
  private connecting?: Promise<Client>;
  private shut = false;

  constructor(
    readonly name: string,
    private readonly spec: McpServerSpec,
    private readonly logger: Logger,
    private readonly startTimeoutMs: number,
  ) {}

  /** Connects (one attempt at a time); a failed attempt leaves nothing running. */
  connect(): Promise<Client> {
    return (this.connecting ??= this.open().finally(() => (this.connecting = undefined)));
  }

  private async open(): Promise<Client> {
    if (this.shut) throw new Error(`MCP server ${this.name} is shut down`);
    const old = this.client;
    this.client = undefined;
    await old?.close().catch(() => {});
    const client = new Client({ name: 'agent-server', version: '0.1.0' });
    const spec = this.spec;
    const transport =
      'url' in spec
        ? new StreamableHTTPClientTransport(new URL(spec.url), { requestInit: { headers: spec.headers ?? {} } })
        : new StdioClientTransport({ command: spec.command, args: spec.args ?? [], env: spec.env, cwd: spec.cwd, stderr: 'pipe' });
    if (transport instanceof StdioClientTransport) {
      transport.stderr?.on('data', (d: Buffer) => this.logger.debug({ mcp_server: this.name, stderr: String(d).trimEnd() }, 'MCP server stderr'));
    }
    client.onerror = (err) => this.logger.debug({ mcp_server: this.name, err: err.message }, 'MCP transport error');
    client.onclose = () => {
      if (this.client !== client) return;
      this.client = undefined;
      if (!this.shut) this.logger.warn({ mcp_server: this.name }, `MCP server "${this.name}" connection closed; the next call reconnects`);
    };
    try {
      await client.connect(transport, { timeout: this.startTimeoutMs });
    } catch (err) {
      await client.close().catch(() => {});
      throw err;
    }
    if (this.shut) {
      await client.close().catch(() => {});
      throw new Error(`MCP server ${this.name} is shut down`);
    }
    this.client = client;
    return client;
  }

  async listTools(): Promise<Array<{ name: string; description?: string; inputSchema: Tool['input_schema'] }>> {
    const client = this.client ?? (await this.connect());
    const tools = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : undefined, { timeout: this.startTimeoutMs });
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor);
    return tools as Array<{ name: string; description?: string; inputSchema: Tool['input_schema'] }>;
  }

  /** Calls a tool on the current connection, (re)connecting first when there is none. */
  async call(tool: string, args: unknown, signal: AbortSignal): Promise<CallResult> {
    const attempt = async () => {
      const client = this.client ?? (await this.connect());
      signal.throwIfAborted();
      try {
        return await client.callTool({ name: tool, arguments: args as Record<string, unknown> }, undefined, { signal, timeout: NO_SDK_TIMEOUT });
      } catch (err) {
        // A transport failure (not a JSON-RPC error from the server, not our own abort): drop the connection.
        if (!signal.aborted && !(err instanceof McpError && err.code !== ErrorCode.ConnectionClosed) && this.client === client) {
          this.client = undefined;
          void client.close().catch(() => {});
        }
        throw err;
      }
    };
    try {
      return await attempt();
    } catch (err) {
      if (signal.aborted || !unseen(err)) throw err;
      this.logger.warn({ mcp_server: this.name, err: (err as Error).message }, 'MCP call not delivered (not connected, or the server expired the session); reconnecting to send it again');
      return attempt();
    }
  }

  async close(): Promise<void> {
    this.shut = true;
    await this.connecting?.catch(() => {});
    const c = this.client;
    this.client = undefined;
    await c?.close().catch(() => {});
  }
}

/** True when the server cannot have received the call, so sending it again is safe. */
function unseen(err: unknown): boolean {
  return (err instanceof Error && err.message === 'Not connected') || (err instanceof StreamableHTTPError && err.code === 404);
}

/** What the model sees of a tool result: text blocks as text, other blocks described. */
export function resultText(result: CallResult): string {
  const content = (result.content ?? []) as Array<Record<string, any>>;
  if (!content.length && result.structuredContent !== undefined) return JSON.stringify(result.structuredContent);
  return content
    .map((b) => {
      switch (b.type) {
        case 'text':
          return b.text as string;
        case 'resource':
          return (b.resource?.text as string | undefined) ?? `[resource ${b.resource?.uri}]`;
        case 'resource_link':
          return `[resource ${b.uri}]`;
        default:
          return `[${b.type}${b.mimeType ? ` ${b.mimeType}` : ''}]`;
      }
    })
    .join('\n');
}

