// The server's public HTTP API as the console calls it: one credential, sent as a header, never in a URL.
const KEY = 'agent-server-console.credential';

/** The API key or JWT the user gave, for this tab only (sessionStorage: gone when the tab closes). */
export const credential = {
  get: (): string | null => sessionStorage.getItem(KEY),
  set: (value: string) => sessionStorage.setItem(KEY, value),
  clear: () => sessionStorage.removeItem(KEY),
};

/** The documented header: `Authorization: Bearer <API key or JWT>`. */
export function authHeaders(): Record<string, string> {
  const c = credential.get();
  return c ? { authorization: `Bearer ${c}` } : {};
}

const unauthorizedListeners = new Set<() => void>();
/** Called whenever the server answers 401: the app then asks for a credential. */
export function onUnauthorized(fn: () => void): () => void {
  unauthorizedListeners.add(fn);
  return () => unauthorizedListeners.delete(fn);
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** The server's one error shape `{error, code}`, from a response or a JSON string (the AI SDK transport's error text). */
export function errorMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: string; code?: string };
    if (typeof body.error === 'string') return body.code ? `${body.error} (${body.code})` : body.error;
  } catch {
    // not JSON: shown as it is
  }
  return text;
}

export async function api<T>(path: string, init: { method?: string; body?: unknown; signal?: AbortSignal } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...authHeaders() };
  // Bodiless POSTs get a JSON content type too: the server's CSRF guard asks for it.
  if (init.body !== undefined || (init.method && init.method !== 'GET')) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method: init.method ?? 'GET', headers, body: init.body === undefined ? undefined : JSON.stringify(init.body), signal: init.signal });
  if (res.status === 401) unauthorizedListeners.forEach((fn) => fn());
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  if (!res.ok) {
    let code: string | undefined;
    try {
      code = (JSON.parse(text) as { code?: string }).code;
    } catch {
      code = undefined;
    }
    throw new ApiError(errorMessage(text) || `${res.status} ${res.statusText}`, res.status, code);
  }
  return JSON.parse(text) as T;
}

export interface Usage {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
}
export interface Agent {
  id: string;
  name: string;
  description: string;
  model: string;
  tools: string[];
  tool_policies?: Record<string, 'allow' | 'ask' | 'deny'>;
  mcp_servers?: Array<{ name: string; transport: 'stdio' | 'http'; started: boolean; tools: string[] }>;
}
export interface ThreadSummary {
  id: string;
  agent_id: string;
  title: string | null;
  created_at: string;
  updated_at: string;
  message_count: number;
  last_message: { role: 'user' | 'assistant'; preview: string; created_at: string } | null;
}
export interface Thread {
  id: string;
  agent_id: string;
  title: string | null;
  metadata: Record<string, unknown>;
  created_at: string;
  updated_at: string;
  usage?: Usage & { calls: number; cost_usd: number | null };
}
export interface ContentBlock {
  type: string;
  [key: string]: unknown;
}
export interface Message {
  id: string;
  run_id: string | null;
  position: number;
  role: 'user' | 'assistant';
  content: ContentBlock[];
  created_at: string;
}
export interface Run {
  id: string;
  thread_id: string;
  agent_id: string;
  origin: string;
  status: string;
  stop_reason: string | null;
  output: string | null;
  usage: Usage | null;
  error: { code: string; message: string } | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  /** Estimated cost of its model calls (single-run reads); null: a model without a price. */
  cost_usd?: number | null;
}
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export const ACTIVE = new Set(['queued', 'running', 'waiting']);
export const RUN_STATUSES = ['queued', 'running', 'waiting', 'completed', 'failed', 'cancelled', 'timed_out', 'interrupted'];

export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** One canonical run event with its seq, as `GET /v1/runs/:id/events` frames it. */
export interface SeqEvent {
  seq: number;
  event: { type: string; [key: string]: any };
}

/**
 * Follows `GET /v1/runs/:id/events` with fetch (an EventSource could not send the credential
 * header), from `after`, reconnecting after a drop with the last seq seen, until the server ends the stream.
 */
export async function followRunEvents(runId: string, onEvent: (e: SeqEvent) => void, signal: AbortSignal): Promise<void> {
  let after = 0;
  for (let attempt = 0; attempt < 5 && !signal.aborted; attempt++) {
    let res: Response;
    try {
      res = await fetch(`/v1/runs/${encodeURIComponent(runId)}/events${query({ after })}`, { headers: { accept: 'text/event-stream', ...authHeaders() }, signal });
    } catch (err) {
      if (signal.aborted) return;
      await new Promise((r) => setTimeout(r, 500));
      continue;
    }
    if (res.status === 401) unauthorizedListeners.forEach((fn) => fn());
    if (!res.ok || !res.body) throw new ApiError(errorMessage(await res.text()), res.status);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    let ended = false;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) {
          ended = true;
          break;
        }
        buf += value;
        let cut: number;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const frame = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          let id: number | undefined;
          let data = '';
          for (const line of frame.split('\n')) {
            if (line.startsWith('id:')) id = Number(line.slice(3).trim());
            else if (line.startsWith('data:')) data += line.slice(5).trimStart();
          }
          if (id === undefined || data === '') continue;
          after = id;
          onEvent({ seq: id, event: JSON.parse(data) });
        }
      }
    } catch (err) {
      if (signal.aborted) return;
    }
    // The server ends the stream after the run's last event: done. A cut connection resumes.
    if (ended) return;
  }
}
