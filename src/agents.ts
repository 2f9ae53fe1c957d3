import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { Id } from '../contracts/run.js';

/** Agents file (JSON): `{ "agents": { "<id>": { ...AgentSpec } } }`. */
const AgentSpec = z.strictObject({
  name: z.string().min(1).optional(),
  description: z.string().optional(),
  model: z.string().min(1).optional(),
  system: z.string().optional(),
  max_steps: z.number().int().min(1).max(1000).optional(),
  max_tokens: z.number().int().min(1).max(1_000_000).optional(),
  temperature: z.number().min(0).max(1).optional(),
  thinking_budget: z.number().int().min(1024).optional(),
  tools: z.array(z.string().min(1)).optional(),
});
const AgentsFile = z.strictObject({ agents: z.record(Id, AgentSpec).refine((a) => Object.keys(a).length > 0, 'declare at least one agent') });

export interface Agent {
  id: string;
  name: string;
  description: string;
  model: string;
  system?: string;
  maxSteps: number;
  maxTokens: number;
  temperature?: number;
  thinkingBudget?: number;
  tools: string[];
}

export const DEFAULT_AGENT_ID = 'assistant';

export function defaultAgents(model: string): Map<string, Agent> {
  return new Map([
    [
      DEFAULT_AGENT_ID,
      {
        id: DEFAULT_AGENT_ID,
        name: 'Assistant',
        description: 'A helpful general-purpose assistant.',
        model,
        system: 'You are a helpful assistant.',
        maxSteps: 10,
        maxTokens: 4096,
        tools: ['current_time'],
      },
    ],
  ]);
}

/** Loads and validates an agents file; throws an Error whose message names each bad key. */
export function loadAgentsFile(path: string, defaultModel: string, knownTools: ReadonlySet<string>): Map<string, Agent> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`agents file ${path}: ${(err as Error).message}`);
  }
  const parsed = AgentsFile.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const where = i.path.join('.') || '(root)';
      const what = i.code === 'unrecognized_keys' ? `unknown key(s) ${i.keys.join(', ')}` : i.message;
      return `  ${where}: ${what}`;
    });
    throw new Error(`agents file ${path} is invalid:\n${lines.join('\n')}`);
  }
  const agents = new Map<string, Agent>();
  for (const [id, spec] of Object.entries(parsed.data.agents)) {
    for (const tool of spec.tools ?? []) {
      if (!knownTools.has(tool)) throw new Error(`agents file ${path} is invalid:\n  agents.${id}.tools: unknown tool "${tool}" (known: ${[...knownTools].join(', ')})`);
    }
    const maxTokens = spec.max_tokens ?? 4096;
    if (spec.thinking_budget !== undefined && spec.thinking_budget >= maxTokens) {
      throw new Error(`agents file ${path} is invalid:\n  agents.${id}.thinking_budget: must be less than max_tokens (${maxTokens})`);
    }
    agents.set(id, {
      id,
      name: spec.name ?? id,
      description: spec.description ?? '',
      model: spec.model ?? defaultModel,
      system: spec.system,
      maxSteps: spec.max_steps ?? 10,
      maxTokens,
      temperature: spec.temperature,
      thinkingBudget: spec.thinking_budget,
      tools: spec.tools ?? [],
    });
  }
  return agents;
}
