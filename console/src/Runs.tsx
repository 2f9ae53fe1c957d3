// Runs: a filtered list, and one run's timeline built from its stored events, followed live while it runs.
import { useEffect, useState } from 'react';
import { useAgents } from './agents-context';
import { ACTIVE, api, followRunEvents, query, RUN_STATUSES, type Page, type Run, type Thread } from './api';
import { Link, navigate } from './router';
import { addEvent, emptyTimeline, type ModelCall, type Timeline, type ToolCallItem } from './timeline';
import { durationOf, ErrorNote, fmtCost, fmtMs, fmtTime, fmtUsage, Json, StatusBadge, useAsync, usePaged } from './util';

export function RunList({ search }: { search: URLSearchParams }) {
  const agents = useAgents();
  const status = search.get('status') ?? '';
  const agent = search.get('agent_id') ?? '';
  const thread = search.get('thread_id') ?? '';
  const { items, cursor, error, loading, load } = usePaged<Run>((after) => `/v1/runs${query({ limit: 20, cursor: after, status, agent_id: agent, thread_id: thread })}`, [status, agent, thread]);
  const setFilter = (key: string, value: string) => {
    const q = new URLSearchParams(search);
    if (value) q.set(key, value);
    else q.delete(key);
    const s = q.toString();
    navigate(`/runs${s ? `?${s}` : ''}`, true);
  };
  return (
    <section>
      <div className="toolbar">
        <h1>Runs</h1>
        <label>
          Status
          <select value={status} onChange={(e) => setFilter('status', e.target.value)}>
            <option value="">any</option>
            {RUN_STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Agent
          <select value={agent} onChange={(e) => setFilter('agent_id', e.target.value)}>
            <option value="">any</option>
            {agents.map((a) => (
              <option key={a.id} value={a.id}>
                {a.id}
              </option>
            ))}
          </select>
        </label>
        {thread && (
          <span>
            thread {thread}{' '}
            <button type="button" className="link" onClick={() => setFilter('thread_id', '')}>
              (all threads)
            </button>
          </span>
        )}
        <button type="button" onClick={() => void load(null)}>
          Refresh
        </button>
      </div>
      <ErrorNote error={error} />
      <table>
        <thead>
          <tr>
            <th>Run</th>
            <th>Status</th>
            <th>Agent</th>
            <th>Origin</th>
            <th>Created</th>
            <th>Duration</th>
            <th>Tokens</th>
          </tr>
        </thead>
        <tbody>
          {items.map((r) => (
            <tr key={r.id}>
              <td>
                <Link to={`/runs/${encodeURIComponent(r.id)}`}>{r.id}</Link>
              </td>
              <td>
                <StatusBadge status={r.status} />
              </td>
              <td>{r.agent_id}</td>
              <td>{r.origin}</td>
              <td>{fmtTime(r.created_at)}</td>
              <td>{fmtMs(durationOf(r.started_at, r.finished_at))}</td>
              <td>{r.usage ? `${r.usage.input_tokens} / ${r.usage.output_tokens}` : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {!loading && items.length === 0 && <p className="muted">No runs match.</p>}
      {cursor && (
        <button type="button" disabled={loading} onClick={() => void load(cursor)}>
          Load more
        </button>
      )}
    </section>
  );
}

export function RunDetail({ id }: { id: string }) {
  const [run, setRun] = useState<Run>();
  const [timeline, setTimeline] = useState<Timeline>(emptyTimeline);
  const [error, setError] = useState<Error>();
  const [following, setFollowing] = useState(false);
  useEffect(() => {
    const ac = new AbortController();
    const path = `/v1/runs/${encodeURIComponent(id)}`;
    (async () => {
      setRun(await api<Run>(path, { signal: ac.signal }));
      setFollowing(true);
      // Replays every stored event, then follows live until the run ends (the server closes the stream).
      await followRunEvents(id, (e) => setTimeline((t) => addEvent(t, e)), ac.signal);
      setFollowing(false);
      if (!ac.signal.aborted) setRun(await api<Run>(path, { signal: ac.signal }));
    })().catch((err: Error) => {
      if (!ac.signal.aborted) setError(err);
    });
    return () => ac.abort();
  }, [id]);

  if (error) return <ErrorNote error={error} />;
  if (!run) return <p>Loading…</p>;
  const live = following && ACTIVE.has(run.status);
  const longest = Math.max(1, ...timeline.items.map((x) => (x.kind === 'marker' ? 0 : (x.durationMs ?? 0))));
  return (
    <section>
      <p>
        <Link to="/runs">← Runs</Link>
      </p>
      <h1>
        Run {run.id} <StatusBadge status={run.status} /> {live && <span className="badge live">live</span>}
      </h1>
      <dl className="facts">
        <dt>Thread</dt>
        <dd>
          <Link to={`/threads/${encodeURIComponent(run.thread_id)}`}>{run.thread_id}</Link>
        </dd>
        <dt>Agent</dt>
        <dd>{run.agent_id}</dd>
        <dt>Origin</dt>
        <dd>{run.origin}</dd>
        <dt>Created</dt>
        <dd>{fmtTime(run.created_at)}</dd>
        <dt>Duration</dt>
        <dd>{fmtMs(durationOf(run.started_at, run.finished_at))}</dd>
        <dt>Tokens</dt>
        <dd aria-label="Run tokens">{fmtUsage(run.usage ?? timeline.usage)}</dd>
        <dt>Estimated cost</dt>
        <dd aria-label="Estimated cost">{run.cost_usd === undefined ? '—' : fmtCost(run.cost_usd)}</dd>
        {run.error && (
          <>
            <dt>Error</dt>
            <dd className="error">
              {run.error.message} ({run.error.code})
            </dd>
          </>
        )}
      </dl>
      <h2>Timeline</h2>
      <ol className="timeline" aria-label="Timeline">
        {timeline.items.map((item, i) =>
          item.kind === 'model' ? (
            <ModelRow key={i} call={item} longest={longest} />
          ) : item.kind === 'tool' ? (
            <ToolRow key={i} call={item} longest={longest} />
          ) : (
            <li key={i} className={`marker ${item.error ? 'error' : ''}`}>
              <strong>{item.label}</strong> {item.detail && <span className="muted">{item.detail}</span>}
            </li>
          ),
        )}
      </ol>
      {live && <p className="muted">Following the run live…</p>}
    </section>
  );
}

function Bar({ ms, longest, first }: { ms?: number; longest: number; first?: number | null }) {
  if (ms === undefined) return <div className="bar pending" />;
  return (
    <div className="bar">
      <div className="fill" style={{ width: `${Math.max(1, (ms / longest) * 100)}%` }}>
        {first !== undefined && first !== null && ms > 0 && <div className="ttft" style={{ width: `${(first / ms) * 100}%` }} />}
      </div>
    </div>
  );
}

function ModelRow({ call, longest }: { call: ModelCall; longest: number }) {
  return (
    <li className="model-call" aria-label={`Model call ${call.step}`}>
      <div className="row">
        <strong>Model call {call.step}</strong>
        <span>{call.active ? 'streaming…' : `duration ${fmtMs(call.durationMs)}`}</span>
        <span>time to first token {fmtMs(call.firstTokenMs)}</span>
        {call.stopReason !== undefined && <span className="muted">stop: {call.stopReason ?? '—'}</span>}
      </div>
      <Bar ms={call.durationMs} longest={longest} first={call.firstTokenMs} />
      <div className="muted small">
        {fmtUsage(call.usage)} · {call.textChars} text chars{call.reasoningChars ? ` · ${call.reasoningChars} reasoning chars` : ''}
        {call.toolNames.length ? ` · calls ${call.toolNames.join(', ')}` : ''}
      </div>
    </li>
  );
}

function ToolRow({ call, longest }: { call: ToolCallItem; longest: number }) {
  const outcome = call.active ? (call.approval ? 'waiting for approval' : 'running…') : call.denied ? 'denied' : call.isError ? 'error' : 'ok';
  return (
    <li className="tool-call" aria-label={`Tool call ${call.name}`}>
      <div className="row">
        <strong>Tool {call.name}</strong>
        <span>{call.durationMs !== undefined ? `duration ${fmtMs(call.durationMs)}` : call.active ? '' : 'duration —'}</span>
        <span className={`badge ${call.isError ? 'status-failed' : ''}`}>{outcome}</span>
      </div>
      <Bar ms={call.durationMs} longest={longest} />
      <details>
        <summary>Input and output</summary>
        <Json value={call.input ?? {}} />
        {call.output !== undefined && <Json value={call.output} />}
      </details>
    </li>
  );
}
