/** The services every API surface calls: every rule once (lookups, ids, cancel, resume). */
import type { Cluster } from '../cluster/cluster.js';
import type { Config, RateLimits } from '../config.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Store } from '../store/store.js';
import { listAgents } from './agents.js';
import { ConversationService } from './conversations.js';
import { LimitService } from './limits.js';
import { RunService } from './runs.js';
import { ThreadService } from './threads.js';
import { UsageService } from './usage.js';
import { RunStarts } from './run-starts.js';
import type { WebhookService } from './webhooks.js';

export interface Services {
  threads: ThreadService;
  runs: RunService;
  conversations: ConversationService;
  agents: { list(): ReturnType<typeof listAgents> };
  usage: UsageService;
  limits: LimitService;
}

/** Built once per app. */
export function createServices(deps: { runtime: Runtime; store: Store; cluster?: Cluster; config?: Pick<Config, 'limits' | 'modelPrices' | 'auth'>; webhooks?: WebhookService }): Services {
  const perKey = new Map<string, RateLimits>((deps.config?.auth.apiKeys ?? []).flatMap((k) => (k.limits ? [[k.name, k.limits] as const] : [])));
  const limits = new LimitService(deps.store, deps.config?.limits, perKey);
  const usage = new UsageService(deps.store, deps.config?.modelPrices);
  const starts = new RunStarts(deps.runtime, deps.store, deps.cluster, deps.webhooks);
  const runs = new RunService(deps.runtime, deps.store, deps.cluster, limits, deps.webhooks, starts, usage);
  return {
    runs,
    usage,
    limits,
    threads: new ThreadService(deps.store, runs, usage),
    conversations: new ConversationService(deps.runtime, deps.store, limits, starts),
    agents: { list: () => listAgents(deps.runtime.agents) },
  };
}
