// The events of a streamed Messages API response, parsed from its SSE body with eventsource-parser.
import { APIError } from '@anthropic-ai/sdk/core/error';
import type { RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages/messages';
import { createParser, type EventSourceMessage } from 'eventsource-parser';

/** One SSE event of the Messages API is a few KB; anything near this is not one. */
const MAX_EVENT_CHARS = 16 * 1024 * 1024;

/**
 * The SDK's own stream reader goes through three async generators and a line decoder per event;
 * for a streamed turn that was the largest share of a run's CPU after the database. The request
 * (headers, retries, status errors) stays the SDK's (`asResponse()`); its body is read here the
 * same way the SDK reads it: `ping` and unnamed events are skipped, an `error` event throws the
 * SDK's APIError, and an aborted request ends the stream without an error (the caller checks
 * its signal).
 */
export async function* modelEvents(response: Response): AsyncGenerator<RawMessageStreamEvent> {
  const ready: EventSourceMessage[] = [];
  let broken: Error | undefined;
  const parser = createParser({
    onEvent: (e) => void ready.push(e),
    onError: (err) => void (broken ??= err),
    maxBufferSize: MAX_EVENT_CHARS,
  });
  // Streaming decode: a character split across two chunks comes out whole.
  const decoder = new TextDecoder();
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      parser.feed(decoder.decode(chunk, { stream: true }));
      if (broken) throw broken;
      for (let i = 0; i < ready.length; i++) {
        const { event, data } = ready[i];
        if (event === 'ping' || event === undefined) continue;
        if (event === 'error') {
          const error = safeJson(data) ?? data;
          throw new APIError(undefined, error, undefined, response.headers, (error as { error?: { type?: string } })?.error?.type as never);
        }
        if (data) yield JSON.parse(data) as RawMessageStreamEvent;
      }
      ready.length = 0;
    }
  } catch (err) {
    if ((err as { name?: unknown } | null)?.name === 'AbortError') return;
    throw err;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
