// Small shared pieces: async loading, formatting, JSON blocks.
import { useCallback, useEffect, useState } from 'react';
import { api, type Page, type Usage } from './api';

export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): { data?: T; error?: Error; loading: boolean; reload: () => void } {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const ac = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    load(ac.signal).then(
      (data) => !ac.signal.aborted && setState({ data, loading: false }),
      (error: Error) => !ac.signal.aborted && setState({ error, loading: false }),
    );
    return () => ac.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

/** A cursor-paged list: `load(null)` starts over, `load(cursor)` appends the next page. */
export function usePaged<T>(url: (after: string | null) => string, deps: unknown[]) {
  const [items, setItems] = useState<T[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<Error>();
  const [loading, setLoading] = useState(true);
  const load = async (after: string | null) => {
    setLoading(true);
    try {
      const page = await api<Page<T>>(url(after));
      setItems((prev) => (after ? [...prev, ...page.items] : page.items));
      setCursor(page.next_cursor);
      setError(undefined);
    } catch (err) {
      setError(err as Error);
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    void load(null);
  }, deps);
  return { items, cursor, error, loading, load };
}

export const fmtTime = (iso: string | null | undefined): string => (iso ? new Date(iso).toLocaleString() : '—');

export function fmtMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

export function durationOf(from: string | null, to: string | null): number | null {
  if (!from || !to) return null;
  return Math.max(0, Date.parse(to) - Date.parse(from));
}

export function fmtUsage(u: Usage | null | undefined): string {
  if (!u) return '—';
  return `in ${u.input_tokens} · out ${u.output_tokens} · cached ${u.cache_read_input_tokens} read / ${u.cache_creation_input_tokens} written`;
}

export function fmtCost(usd: number | null | undefined): string {
  if (usd === null || usd === undefined) return 'no price (set AGENTSDK_MODEL_PRICES)';
  return `$${usd.toFixed(usd < 0.01 ? 6 : 4)}`;
}

export function Json({ value, label }: { value: unknown; label?: string }) {
  let text: string;
  if (typeof value === 'string') {
    // Tool outputs are strings that are often JSON: shown indented when they are.
    try {
      text = JSON.stringify(JSON.parse(value), null, 2);
    } catch {
      text = value;
    }
  } else text = JSON.stringify(value, null, 2) ?? String(value);
  return (
    <pre className="json" aria-label={label}>
      {text}
    </pre>
  );
}

export function ErrorNote({ error }: { error?: Error | string | null }) {
  if (!error) return null;
  return (
    <div role="alert" className="error">
      {typeof error === 'string' ? error : error.message}
    </div>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge status-${status}`}>{status}</span>;
}
