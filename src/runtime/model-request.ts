// What a run asks the model: the request of each step, and a run's first call sent before its start is stored.
import type { MessageCountTokensParams, MessageCreateParamsStreaming, MessageParam } from '@anthropic-ai/sdk/resources/messages/messages';
import type { Agent } from '../agents.js';
import { estimateTokens } from './context.js';
import type { ModelClient } from './model.js';
import { cachedMessages, cachedRequestParts } from './prompt-cache.js';
import type { ToolRegistry } from './tools/registry.js';

/** A tool the client executes (AG-UI frontend tools, AI SDK client-side tools). */
export interface ClientTool {
  name: string;
  description?: string;
  input_schema: Record<string, unknown>;
}

/** Everything a run's model calls share; only the messages change from call to call. */
export interface RequestSetup {
  /** Server tools the model may call on this run. */
  allowed: Set<string>;
  /** The system prompt as text (what traces record). */
  system: string;
  /** Estimated tokens of what every request carries besides messages (system prompt, tools). */
  fixedTokens: number;
  headers?: Record<string, string>;
  params(messages: MessageParam[]): MessageCreateParamsStreaming;
  /** The same request for the token-count endpoint. */
  countParams(messages: MessageParam[]): MessageCountTokensParams;
}

/** Server tools the model may call on this run (a client tool shadows a server tool of its name). */
export function allowedTools(agent: Agent, clientTools: ClientTool[]): Set<string> {
  const clientNames = new Set(clientTools.map((t) => t.name));
  return new Set(agent.tools.filter((n) => !clientNames.has(n)));
}

export function requestSetup(agent: Agent, tools: ToolRegistry, clientTools: ClientTool[], context: string | undefined): RequestSetup {
  // A client tool shadows a server tool of the same name: the client asked for it.
  const allowed = allowedTools(agent, clientTools);
  const toolDefs = [
    ...tools.definitions([...allowed]),
    ...clientTools.map((t) => ({ name: t.name, description: t.description ?? '', input_schema: t.input_schema })),
  ] as NonNullable<MessageCreateParamsStreaming['tools']>;
  // Tools and system prompt are the same on every call of the run: their breakpoints are set once.
  const parts = cachedRequestParts(agent, toolDefs, context);
  const system = [agent.system, context].filter(Boolean).join('\n\n');
  return {
    allowed,
    system,
    fixedTokens: estimateTokens([system, toolDefs]),
    headers: parts.headers,
    params: (messages) => ({
      model: agent.model,
      max_tokens: agent.maxTokens,
      messages: cachedMessages(messages, parts.cc),
      stream: true,
      ...(parts.system ? { system: parts.system } : {}),
      ...(parts.tools.length ? { tools: parts.tools } : {}),
      ...(agent.temperature !== undefined && !agent.thinkingBudget ? { temperature: agent.temperature } : {}),
      ...(agent.thinkingBudget ? { thinking: { type: 'enabled', budget_tokens: agent.thinkingBudget } } : {}),
    }),
    countParams: (messages) => ({ model: agent.model, messages, ...(parts.system ? { system: parts.system } : {}), ...(parts.tools.length ? { tools: parts.tools } : {}) }),
  };
}

/**
 * A run's first model call, sent while its start is being stored: the model's wait (most of
 * the time to the first token) then overlaps the commit instead of following it. The loop
 * takes it for its first step when it would send these very messages; else, or when the run
 * never gets that far (its start failed, it was cancelled), it is discarded: aborted.
 */
export class EarlyCall {
  readonly startedAt = performance.now();
  private readonly controller = new AbortController();
  private readonly response: Promise<Response>;
  private taken = false;

  constructor(client: ModelClient, readonly setup: RequestSetup, readonly messages: MessageParam[], runSignal: AbortSignal) {
    // The run's signal stops it as it would stop a call the loop made; discard() stops it alone.
    if (runSignal.aborted) this.controller.abort(runSignal.reason);
    else runSignal.addEventListener('abort', () => this.controller.abort(runSignal.reason), { once: true });
    const options = { signal: this.controller.signal, ...(setup.headers ? { headers: setup.headers } : {}) };
    this.response = client.messages.create(setup.params(messages), options).asResponse();
    // Whoever takes it sees its failure; an untaken one fails unseen.
    this.response.catch(() => {});
  }

  /** The response, for the loop's first step (once). */
  take(): Promise<Response> {
    this.taken = true;
    return this.response;
  }

  discard(): void {
    if (!this.taken) this.controller.abort();
    this.taken = true;
  }
}
