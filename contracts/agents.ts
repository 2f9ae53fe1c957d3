import { z } from 'zod';

export const Agent = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    model: z.string(),
    tools: z.array(z.string()).describe('Names of the server-side tools it may call'),
    tool_policies: z
      .record(z.string(), z.enum(['allow', 'ask', 'deny']))
      .optional()
      .describe('Policy of each tool it names (`tools` and denied ones): `ask` waits for a human decision'),
    mcp_servers: z
      .array(z.object({ name: z.string(), transport: z.enum(['stdio', 'http']), started: z.boolean().describe('It connected at start-up and listed its tools'), tools: z.array(z.string()) }))
      .optional()
      .describe('The MCP servers it declares'),
  })
  .meta({ id: 'Agent' });
export type Agent = z.infer<typeof Agent>;

export const AgentList = z.object({ items: z.array(Agent) }).meta({ id: 'AgentList' });
