import { UsageQuery, UsageReport } from '../../contracts/usage.js';
import { procedure, rest, router } from './init.js';

export const usageRouter = router({
  get: procedure
    .meta(
      rest('GET', '/v1/usage', 'Token usage totals (and estimated cost)', {
        tag: 'usage',
        errors: [400],
        description:
          'Sums of every model call\'s usage, grouped by `group_by` (default `day,agent,model`), within `from`/`to`. A caller sees its own principal\'s usage; admins see everyone\'s, can filter by `principal` and group by it. `cost_usd` is estimated from `AGENTSDK_MODEL_PRICES`.',
      }),
    )
    .input(UsageQuery)
    .output(UsageReport)
    .query(({ ctx, input }) => ctx.usage.report(ctx.principal, input)),
});
