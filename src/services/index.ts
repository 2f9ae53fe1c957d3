import type { Cluster } from '../cluster/cluster.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Store } from '../store/store.js';
import { listAgents } from './agents.js';
import { RunService } from './runs.js';
import { ThreadService } from './threads.js';

export interface Services {
  threads: ThreadService;
  runs: RunService;
  agents: { list(): ReturnType<typeof listAgents> };
}

/** The services every API surface (tRPC, REST, hand-mounted SSE) calls; built once per app. */
export function createServices(deps: { runtime: Runtime; store: Store; cluster?: Cluster }): Services {
  const runs = new RunService(deps.runtime, deps.store, deps.cluster);
  return {
    runs,
    threads: new ThreadService(deps.store, runs),
    agents: { list: () => listAgents(deps.runtime.agents) },
  };
}
