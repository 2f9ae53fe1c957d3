// AG-UI events → SSE frames (`data: <json>\n\n`), as @ag-ui/encoder writes them; always SSE, the protobuf framing is not offered.
import { EventType } from '@ag-ui/core';
import { EventEncoder } from '@ag-ui/encoder';
import type { AgUiEvent } from './mapper.js';

const encoder = new EventEncoder();

/** The streamed deltas: most of a run's events. */
const DELTAS = new Set<string>([EventType.TEXT_MESSAGE_CONTENT, EventType.REASONING_MESSAGE_CONTENT, EventType.TOOL_CALL_ARGS]);

/**
 * The encoder first walks each event to drop optional fields set to null. The mapper builds the
 * deltas with string fields only, so the walk would hand them back unchanged: they are framed
 * directly, in the same bytes. Every other event goes through the encoder.
 */
export function agUiFrame(event: AgUiEvent): string {
  return DELTAS.has(event.type) ? `data: ${JSON.stringify(event)}\n\n` : encoder.encodeSSE(event);
}
