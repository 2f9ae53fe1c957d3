import Anthropic from '@anthropic-ai/sdk';
import type { Config } from '../config.js';
import { createModelFetch } from './model-fetch.js';

/** One SDK client for the process; exactly one credential is passed so the SDK never mixes them. */
export function createModelClient(config: Config): Anthropic | null {
  if (!config.credentials) return null;
  return new Anthropic({
    ...('authToken' in config.credentials ? { authToken: config.credentials.authToken, apiKey: null } : { apiKey: config.credentials.apiKey, authToken: null }),
    baseURL: config.anthropicBaseUrl ?? null,
    maxRetries: config.anthropicMaxRetries,
    // The run's own timeout bounds the call; the SDK's 10-minute default would cut long runs short.
    timeout: 2_147_483_647,
    fetch: createModelFetch(),
  });
}

export type ModelClient = Anthropic;
