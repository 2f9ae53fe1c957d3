import { z } from 'zod';
import { Usage } from './common.js';

export const USAGE_DIMENSIONS = ['day', 'agent', 'model', 'principal'] as const;
export const UsageDimension = z.enum(USAGE_DIMENSIONS);
export type UsageDimension = z.infer<typeof UsageDimension>;

const Instant = z.iso.datetime({ offset: true });

/** Query of GET /v1/usage (tRPC `usage.get`). */
export const UsageQuery = z.strictObject({
  from: Instant.optional().describe('Only model calls at or after this time'),
  to: Instant.optional().describe('Only model calls before this time'),
  group_by: z
    .string()
    .regex(/^(day|agent|model|principal)(,(day|agent|model|principal))*$/, 'must be a comma-separated list of day, agent, model, principal')
    .optional()
    .describe('Comma-separated dimensions to group by (default `day,agent,model`; `principal` is meaningful for admins); empty groups are left out'),
  principal: z.string().min(1).max(200).optional().describe('Admins only: usage of this principal (others always see only their own)'),
});
export type UsageQuery = z.infer<typeof UsageQuery>;

export const UsageTotals = Usage.extend({
  calls: z.number().int().nonnegative().describe('Model calls that reported usage'),
  cost_usd: z.number().nonnegative().nullable().describe('Estimated from AGENTSDK_MODEL_PRICES; null when a model in it has no price'),
}).meta({ id: 'UsageTotals' });
export type UsageTotals = z.infer<typeof UsageTotals>;

export const UsageGroup = UsageTotals.extend({
  day: z.string().optional().describe('UTC date, YYYY-MM-DD'),
  agent_id: z.string().optional(),
  model: z.string().optional(),
  principal: z.string().nullable().optional(),
}).meta({ id: 'UsageGroup' });
export type UsageGroup = z.infer<typeof UsageGroup>;

export const UsageReport = z
  .object({
    from: z.string().nullable(),
    to: z.string().nullable(),
    group_by: z.array(UsageDimension),
    totals: UsageTotals,
    groups: z.array(UsageGroup),
  })
  .meta({ id: 'UsageReport' });
export type UsageReport = z.infer<typeof UsageReport>;
