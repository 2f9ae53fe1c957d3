import { z } from 'zod';
import { RunEvent } from './events.js';

/** The lean stream's keep-alive frame (`data: {"type":"ping"}`). */
export const StreamPing = z.object({ type: z.literal('ping') }).meta({ id: 'StreamPing' });

/** A frame of POST /v1/run/stream: a canonical event; the first and the terminal one also carry the ids. */
export const LeanStreamEvent = z
  .union([RunEvent.and(z.object({ session_id: z.string().optional(), run_id: z.string().optional() })), StreamPing])
  .meta({ id: 'LeanStreamEvent' });
