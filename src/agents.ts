import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { Id, MultitaskStrategy, TimeoutMs } from '../contracts/run.js';

export type ToolPolicy = 'allow' | 'ask' | 'deny';
const Policy = z.enum(['allow', 'ask', 'deny'], { error: 'must be "allow", "ask" or "deny"' });
/** Options any tool takes in the agents file; `timeout_ms` overrides AGENTSDK_TOOL_TIMEOUT_MS for it. */
const ToolOptions = { policy: Policy.optional(), timeout_ms: z.number().int().min(1).max(3_600_000).optional() };

/**
 * A value that may take one of several shapes, checked against the shape `choose` picks from the
 * value itself, so an error names the bad key of that shape (a plain union only says "Invalid input").
 */
function oneOf<T>(choose: (value: unknown) => z.ZodType<T> | string): z.ZodType<T> {
  return z.unknown().transform((value, ctx): T => {
    const schema = choose(value);
    if (typeof schema === 'string') {
      ctx.addIssue({ code: 'custom', message: schema });
      return z.NEVER;
    }
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) ctx.addIssue(issue as Parameters<typeof ctx.addIssue>[0]);
    return z.NEVER;
  }) as unknown as z.ZodType<T>;
}
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const ToolObject = z.strictObject(ToolOptions);
type ToolEntry = z.infer<typeof Policy> | z.infer<typeof ToolObject>;
const ToolEntry = oneOf<ToolEntry>((v) => (typeof v === 'string' ? Policy : isObject(v) ? ToolObject : 'must be "allow", "ask", "deny" or an object {policy, timeout_ms}'));
const ToolList = z.array(z.string().min(1));
const ToolMap = z.record(z.string().min(1), ToolEntry);
const Tools = oneOf<z.infer<typeof ToolList> | z.infer<typeof ToolMap>>((v) =>
  Array.isArray(v) ? ToolList : isObject(v) ? ToolMap : 'must be a list of tool names or an object {tool: policy}',
);

/** MCP server: a stdio command or a streamable HTTP URL; `policy` and `timeout_ms` are the defaults for its tools. */
const McpStdio = z.strictObject({ command: z.string().min(1), args: z.array(z.string()).optional(), env: z.record(z.string(), z.string()).optional(), cwd: z.string().min(1).optional(), ...ToolOptions });
const McpHttp = z.strictObject({ url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }), headers: z.record(z.string(), z.string()).optional(), ...ToolOptions });
export type McpServerSpec = z.infer<typeof McpStdio> | z.infer<typeof McpHttp>;
const McpServerSpec = oneOf<McpServerSpec>((v) => {
  if (!isObject(v)) return 'must be an object with command (stdio) or url (streamable HTTP)';
  if ('url' in v && 'command' in v) return 'give either command (stdio) or url (streamable HTTP), not both';
  if ('url' in v) return McpHttp;
  if ('command' in v) return McpStdio;
  return 'needs command (a stdio server) or url (a streamable HTTP server)';
});
/** Server names become tool-name prefixes (`<server>__<tool>`), so they stay short and plain. */
const McpName = z.string().regex(/^[a-zA-Z0-9_-]{1,32}$/, 'MCP server names are 1-32 of a-z A-Z 0-9 _ -').refine((n) => !n.includes('__'), 'MCP server names must not contain "__"');

/** `off`, or when to compact a long thread and how much of it to keep as it is. */
const CompactionSpec = z.strictObject({
  /** Compact before a model call whose input would pass this share of the context window. */
  threshold: z.number().gt(0).max(1).optional(),
  /** Stored turns (prompts, answers, tool results) kept as they are after the summary. */
  keep_recent_turns: z.number().int().min(0).max(1000).optional(),
  /** Length bound of a summary. */
  summary_max_tokens: z.number().int().min(256).max(64_000).optional(),
});
const Compaction = oneOf<'off' | z.infer<typeof CompactionSpec>>((v) =>
  v === 'off' ? z.literal('off') : isObject(v) ? CompactionSpec : 'must be "off" or an object {threshold, keep_recent_turns, summary_max_tokens}',
);

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
  /** Default run timeout of this agent's runs (a request's own `timeout_ms` wins). */
  timeout_ms: TimeoutMs.optional(),
  tools: Tools.optional(),
  mcp_servers: z.record(McpName, McpServerSpec).optional(),
  /** Root of the file and shell tools; default AGENTSDK_WORKSPACE. */
  workspace: z.string().min(1, 'must not be empty').optional(),
  /** Prompt caching breakpoints on tools, system prompt and the newest turns (default auto). */
  prompt_cache: z.enum(['auto', 'off'], { error: 'must be "auto" or "off"' }).optional(),
  /** Cache lifetime; 1h costs more per write and is sent with its beta header. */
  cache_ttl: z.enum(['5m', '1h'], { error: 'must be "5m" or "1h"' }).optional(),
  /** Tokens the model takes in one request (default: its family's window). */
  context_window: z.number().int().min(1024).max(10_000_000).optional(),
  compaction: Compaction.optional(),
  /** What a run start does while the thread has a queued or running run (a request's own choice wins). */
  multitask_strategy: MultitaskStrategy.optional(),
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
  /** Default run timeout (ms); requests may set their own. */
  timeoutMs?: number;
  /** The tools offered to the model (policy allow or ask; deny is never offered). */
  tools: string[];
  /** Policy per tool named in the agents file; a tool in `tools` without an entry is `allow`. */
  toolPolicies?: Map<string, ToolPolicy>;
  /** Per-tool timeout overrides (ms). */
  toolTimeouts?: Map<string, number>;
  /** Absolute root of the file and shell tools. */
  workspace?: string;
  mcpServers?: Record<string, McpServerSpec>;
  /** The MCP servers of `mcpServers` that connected at start-up (set by withMcpTools). */
  mcpStarted?: Set<string>;
  /** Prompt caching (default auto) and its lifetime (default 5m). */
  promptCache?: 'auto' | 'off';
  cacheTtl?: '5m' | '1h';
  /** Tokens per request (default: the model family's window, see contextWindowOf). */
  contextWindow?: number;
  /** null: never compact; undefined: the defaults. */
  compaction?: { threshold: number; keepRecentTurns: number; summaryMaxTokens: number } | null;
  /** Default multitask strategy of runs started on this agent (undefined: enqueue). */
  multitaskStrategy?: MultitaskStrategy;
}

export const DEFAULT_COMPACTION = { threshold: 0.8, keepRecentTurns: 6, summaryMaxTokens: 2048 } as const;

/** Every current Claude model takes 200k tokens by default (larger windows are opt-in betas): override with context_window. */
export function contextWindowOf(agent: Pick<Agent, 'contextWindow' | 'model'>): number {
  return agent.contextWindow ?? 200_000;
}

/** Separates an MCP server's name from its tool's name in the name the model sees. */
export const MCP_SEPARATOR = '__';

/**
 * The policy of a tool for an agent: `allow` runs, `deny` is never offered (and refused if called
 * anyway), `ask` is offered but the run pauses for a human decision before it runs (agent-loop).
 */
export function policyOf(agent: Agent, toolName: string): ToolPolicy {
  const explicit = agent.toolPolicies?.get(toolName);
  if (explicit) return explicit;
  return agent.tools.includes(toolName) ? 'allow' : 'deny';
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

export interface LoadOptions {
  /** Default workspace root (AGENTSDK_WORKSPACE); relative roots resolve against the working directory. */
  workspace?: string;
  /** Tools a file may name that are switched off here (name → why): dropped with a warning. */
  disabled?: ReadonlyMap<string, string>;
  warn?(message: string): void;
  /** Where `${NAME}` in MCP `env` and `headers` values is looked up (default: process.env). */
  env?: NodeJS.ProcessEnv;
}

/**
 * `${NAME}` in MCP `env` / `headers` values comes from the environment, so tokens stay out of
 * the agents file; an unset name is an error naming the key (never the value).
 */
function withSecrets(server: McpServerSpec, where: string, env: NodeJS.ProcessEnv, invalid: (where: string, what: string) => Error): McpServerSpec {
  const fill = (values: Record<string, string> | undefined, key: 'env' | 'headers') => {
    if (!values) return undefined;
    return Object.fromEntries(
      Object.entries(values).map(([k, v]) => [
        k,
        v.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
          const value = env[name];
          if (value === undefined) throw invalid(`${where}.${key}.${k}`, `environment variable ${name} is not set`);
          return value;
        }),
      ]),
    );
  };
  if ('command' in server) return { ...server, ...(server.env ? { env: fill(server.env, 'env') } : {}) };
  return { ...server, ...(server.headers ? { headers: fill(server.headers, 'headers') } : {}) };
}

/**
 * Loads and validates an agents file; throws an Error whose message names each bad key.
 * MCP tools (`<server>__<tool>`) are known only once their servers answer: see `withMcpTools`.
 */
export function loadAgentsFile(path: string, defaultModel: string, knownTools: ReadonlySet<string>, opts: LoadOptions = {}): Map<string, Agent> {
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
      const what =
        i.code === 'unrecognized_keys' ? `unknown key(s) ${i.keys.join(', ')}` : i.code === 'invalid_key' ? `invalid name: ${i.issues.map((k) => k.message).join('; ')}` : i.message;
      return `  ${where}: ${what}`;
    });
    throw new Error(`agents file ${path} is invalid:\n${lines.join('\n')}`);
  }
  const invalid = (where: string, what: string) => new Error(`agents file ${path} is invalid:\n  ${where}: ${what}`);
  const agents = new Map<string, Agent>();
  const mcpByName = new Map<string, string>();
  for (const [id, spec] of Object.entries(parsed.data.agents)) {
    const servers = Object.fromEntries(Object.entries(spec.mcp_servers ?? {}).map(([name, s]) => [name, withSecrets(s, `agents.${id}.mcp_servers.${name}`, opts.env ?? process.env, invalid)]));
    for (const [name, server] of Object.entries(servers)) {
      // One connection per server name: two agents naming it must mean the same server.
      const key = JSON.stringify(server, ['command', 'args', 'env', 'cwd', 'url', 'headers']);
      if ((mcpByName.get(name) ?? key) !== key) throw invalid(`agents.${id}.mcp_servers.${name}`, 'another agent declares a different server with this name');
      mcpByName.set(name, key);
    }
    const entries: Array<[string, ToolEntry]> = Array.isArray(spec.tools) ? spec.tools.map((t) => [t, 'allow']) : Object.entries(spec.tools ?? {});
    const tools: string[] = [];
    const toolPolicies = new Map<string, ToolPolicy>();
    const toolTimeouts = new Map<string, number>();
    for (const [tool, entry] of entries) {
      const mcpServer = tool.includes(MCP_SEPARATOR) ? tool.slice(0, tool.indexOf(MCP_SEPARATOR)) : undefined;
      if (!(mcpServer !== undefined && mcpServer in servers) && !knownTools.has(tool) && !opts.disabled?.has(tool)) {
        throw invalid(`agents.${id}.tools`, `unknown tool "${tool}" (known: ${[...knownTools].join(', ')}${Object.keys(servers).length ? `, or <server>__<tool> for ${Object.keys(servers).join(', ')}` : ''})`);
      }
      const policy = typeof entry === 'string' ? entry : (entry.policy ?? 'allow');
      if (opts.disabled?.has(tool) && policy !== 'deny') {
        opts.warn?.(`agents.${id}.tools: "${tool}" ignored: ${opts.disabled.get(tool)}`);
        continue;
      }
      toolPolicies.set(tool, policy);
      if (typeof entry === 'object' && entry.timeout_ms) toolTimeouts.set(tool, entry.timeout_ms);
      // MCP tools join `tools` in withMcpTools, once the server says it has them.
      if (policy !== 'deny' && !mcpServer) tools.push(tool);
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
      ...(spec.timeout_ms !== undefined ? { timeoutMs: spec.timeout_ms } : {}),
      tools,
      toolPolicies,
      toolTimeouts,
      workspace: resolve(spec.workspace ?? opts.workspace ?? 'workspace'),
      ...(Object.keys(servers).length ? { mcpServers: servers } : {}),
      promptCache: spec.prompt_cache ?? 'auto',
      cacheTtl: spec.cache_ttl ?? '5m',
      ...(spec.context_window !== undefined ? { contextWindow: spec.context_window } : {}),
      ...(spec.multitask_strategy !== undefined ? { multitaskStrategy: spec.multitask_strategy } : {}),
      compaction:
        spec.compaction === 'off'
          ? null
          : {
              threshold: spec.compaction?.threshold ?? DEFAULT_COMPACTION.threshold,
              keepRecentTurns: spec.compaction?.keep_recent_turns ?? DEFAULT_COMPACTION.keepRecentTurns,
              summaryMaxTokens: spec.compaction?.summary_max_tokens ?? DEFAULT_COMPACTION.summaryMaxTokens,
            },
    });
  }
  return agents;
}

/**
 * Adds each agent's MCP tools (named `<server>__<tool>`) once the servers have listed them:
 * the tool's own entry wins, then the server's `policy`, then allow. A server that is down
 * contributes nothing; a tool the file names that the server lacks is reported.
 */
export function withMcpTools(agents: Map<string, Agent>, listed: ReadonlyMap<string, string[]>, warn: (message: string) => void): void {
  for (const agent of agents.values()) {
    for (const [server, spec] of Object.entries(agent.mcpServers ?? {})) {
      const names = listed.get(server);
      if (!names) continue;
      (agent.mcpStarted ??= new Set()).add(server);
      for (const name of names) {
        const policy = agent.toolPolicies?.get(name) ?? spec.policy ?? 'allow';
        (agent.toolPolicies ??= new Map()).set(name, policy);
        if (spec.timeout_ms && !agent.toolTimeouts?.has(name)) (agent.toolTimeouts ??= new Map()).set(name, spec.timeout_ms);
        if (policy !== 'deny' && !agent.tools.includes(name)) agent.tools.push(name);
      }
      for (const name of agent.toolPolicies?.keys() ?? []) {
        if (name.startsWith(`${server}${MCP_SEPARATOR}`) && !names.includes(name)) warn(`agents.${agent.id}.tools: MCP server "${server}" has no tool "${name.slice(server.length + 2)}"`);
      }
    }
  }
}
