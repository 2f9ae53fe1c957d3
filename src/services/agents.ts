import type { Agent } from '../../contracts/agents.js';
import type { Agent as AgentConfig } from '../agents.js';

/** The configured agents as clients see them (no system prompt: that is server-side configuration). */
export function listAgents(agents: Map<string, AgentConfig>): { items: Agent[] } {
  return { items: [...agents.values()].map((a) => ({ id: a.id, name: a.name, description: a.description, model: a.model, tools: a.tools })) };
}
