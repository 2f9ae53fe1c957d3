/** The services every API surface calls: every rule once (lookups, ids, cancel, resume). */
import type { Cluster } from '../cluster/cluster.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Store } from '../store/store.js';
import { listAgents } from './agents.js';
import { ConversationService } from './conversations.js';
import { RunService } from './runs.js';
import { ThreadService } from './threads.js';

export interface Services {
  threads: ThreadService;
  runs: RunService;
  conversations: ConversationService;
  agents: { list(): ReturnType<typeof listAgents> };
}

/** Built once per app. */
export function createServices(deps: { runtime: Runtime; store: Store; cluster?: Cluster }): Services {
  const runs = new RunService(deps.runtime, deps.store, deps.cluster);
  return {
    runs,
    threads: new ThreadService(deps.store, runs),
    conversations: new ConversationService(deps.runtime, deps.store),
    agents: { list: () => listAgents(deps.runtime.agents) },
  };
}
