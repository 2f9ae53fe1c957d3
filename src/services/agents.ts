import type { Agent } from '../../contracts/agents.js';
import { MCP_SEPARATOR, type Agent as AgentConfig } from '../agents.js';

/** The configured agents as clients see them (no system prompt: that is server-side configuration). */
export function listAgents(agents: Map<string, AgentConfig>): { items: Agent[] } {
  return {
    items: [...agents.values()].map((a) => ({
      id: a.id,
      name: a.name,
      description: a.description,
      model: a.model,
      tools: a.tools,
      tool_policies: Object.fromEntries([...a.tools.map((t) => [t, 'allow'] as const), ...(a.toolPolicies ?? new Map())]),
      mcp_servers: Object.entries(a.mcpServers ?? {}).map(([name, spec]) => ({
        name,
        transport: 'url' in spec && spec.url ? ('http' as const) : ('stdio' as const),
        started: a.mcpStarted?.has(name) ?? false,
        tools: a.tools.filter((t) => t.startsWith(`${name}${MCP_SEPARATOR}`)),
      })),
    })),
  };
}
