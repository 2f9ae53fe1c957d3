import { z } from 'zod';

export const Health = z.object({ status: z.literal('ok') }).meta({ id: 'Health' });
export type Health = z.infer<typeof Health>;

/** GET /ready: 200 only when the database answers and the server is not shutting down (else 503, the error body). */
export const Ready = z.object({ status: z.literal('ready') }).meta({ id: 'Ready' });
export type Ready = z.infer<typeof Ready>;

/** POST /v1/auth/stream-token: a short-lived token for `?access_token=` on GET event streams (never a long-lived key in a URL). */
export const StreamToken = z
  .object({ token: z.string().describe('Accepted as `?access_token=` on GET event streams only'), expires_at: z.iso.datetime().describe('A few minutes from now') })
  .meta({ id: 'StreamToken' });
export type StreamToken = z.infer<typeof StreamToken>;
