import { z } from 'zod';

export const Agent = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    model: z.string(),
    tools: z.array(z.string()).describe('Names of the server-side tools it may call'),
  })
  .meta({ id: 'Agent' });
export type Agent = z.infer<typeof Agent>;

export const AgentList = z.object({ items: z.array(Agent) }).meta({ id: 'AgentList' });
