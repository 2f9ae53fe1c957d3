import type { AgentCard, AgentInterface, AgentSkill, SecurityRequirement, SecurityScheme } from '@a2a-js/sdk';
import type { Agent } from '../../agents.js';
import pkg from '../../../package.json' with { type: 'json' };

/** A2A protocol versions served on every JSON-RPC endpoint, preferred first (the SDK's own, then the previous major). */
export const A2A_VERSIONS = ['1.0', '0.3'] as const;


export const SERVER_CARD_NAME = 'Agent Server';
export const SERVER_CARD_DESCRIPTION =
  'Runs LLM agents; every configured agent is a skill. The server-level endpoint talks to the default agent unless the request (or message) metadata names another one as "agentId"; each agent also has its own card and endpoint under /v1/a2a/agents/{agentId}/.';

const MODES = ['text/plain', 'application/json'];

/** The server's credentials, as its OpenAPI document declares them: a bearer (API key or JWT) or the key in `x-api-key`. */
export const CARD_SECURITY_SCHEMES: Record<string, SecurityScheme> = {
  bearer: { scheme: { $case: 'httpAuthSecurityScheme', value: { scheme: 'Bearer', bearerFormat: '', description: 'An API key or a JWT: Authorization: Bearer <credential>' } } },
  apiKey: { scheme: { $case: 'apiKeySecurityScheme', value: { location: 'header', name: 'x-api-key', description: 'An API key in the x-api-key header' } } },
};
/** Either scheme will do (alternatives, no scopes). */
export const CARD_SECURITY: SecurityRequirement[] = [{ schemes: { bearer: { list: [] } } }, { schemes: { apiKey: { list: [] } } }];

export function skillOf(agent: Pick<Agent, 'id' | 'name' | 'description'>): AgentSkill {
  return {
    id: agent.id,
    name: agent.name,
    description: agent.description || agent.name,
    tags: ['agent'],
    examples: [],
    inputModes: [],
    outputModes: [],
    securityRequirements: [],
  };
}

export interface CardInput {
  name: string;
  description: string;
  /** Absolute URL of the JSON-RPC endpoint. */
  endpointUrl: string;
  agents: Array<Pick<Agent, 'id' | 'name' | 'description'>>;
}

/** An A2A v1.0 agent card (the SDK derives the v0.3 shape from it for older clients). */
export function buildAgentCard(input: CardInput): AgentCard {
  const supportedInterfaces: AgentInterface[] = A2A_VERSIONS.map((protocolVersion) => ({ url: input.endpointUrl, protocolBinding: 'JSONRPC', tenant: '', protocolVersion }));
  return {
    name: input.name,
    description: input.description,
    supportedInterfaces,
    provider: undefined,
    version: pkg.version,
    capabilities: { streaming: true, pushNotifications: false, extensions: [], extendedAgentCard: false },
    securitySchemes: structuredClone(CARD_SECURITY_SCHEMES),
    securityRequirements: structuredClone(CARD_SECURITY),
    defaultInputModes: [...MODES],
    defaultOutputModes: [...MODES],
    skills: input.agents.map(skillOf),
    signatures: [],
  };
}

/** The card of the whole server: skills = every configured agent. */
export function serverCard(baseUrl: string, agents: Iterable<Agent>): AgentCard {
  return buildAgentCard({ name: SERVER_CARD_NAME, description: SERVER_CARD_DESCRIPTION, endpointUrl: `${baseUrl}/v1/a2a`, agents: [...agents] });
}

/** The card of one agent, for clients that talk to that agent only. */
export function agentCard(baseUrl: string, agent: Agent): AgentCard {
  return buildAgentCard({
    name: agent.name,
    description: agent.description || `The "${agent.id}" agent.`,
    endpointUrl: `${baseUrl}/v1/a2a/agents/${encodeURIComponent(agent.id)}`,
    agents: [agent],
  });
}
