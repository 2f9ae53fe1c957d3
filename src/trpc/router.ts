import { leanOutcome } from '../protocols/lean/mapper.js';
import { Health } from '../../contracts/health.js';
import { RunRequest, RunResult } from '../../contracts/run.js';
import { AgentList } from '../../contracts/agents.js';
import { procedure, rest, router } from './init.js';
import { runsRouter } from './runs.js';
import { threadsRouter } from './threads.js';
import { usageRouter } from './usage.js';

/**
 * The one router: tRPC at /trpc, REST (trpc-to-openapi) for the procedures with
 * `openapi` meta. `health` and `run` are REST-mounted by hand (lean API), so they have none.
 */
export const appRouter = router({
  health: procedure.output(Health).query(() => ({ status: 'ok' as const })),
  run: procedure
    .input(RunRequest)
    .output(RunResult)
    .mutation(async ({ ctx, input }) => leanOutcome(await ctx.runs.startSession(ctx.principal, input, 'trpc'))),
  threads: threadsRouter,
  runs: runsRouter,
  usage: usageRouter,
  agents: router({
    list: procedure
      .meta(rest('GET', '/v1/agents', 'The configured agents', { tag: 'agents', errors: [] }))
      .output(AgentList)
      .query(({ ctx }) => ctx.agents.list()),
  }),
});

/** For end-to-end typed clients: `createTRPCClient<AppRouter>(…)`. */
export type AppRouter = typeof appRouter;
