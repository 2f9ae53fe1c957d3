// Threads: paged list (newest first) with title search, one thread's messages, rename, delete.
import { useEffect, useState, type FormEvent } from 'react';
import { api, query, type ContentBlock, type Message, type Page, type Thread, type ThreadSummary } from './api';
import { Link, navigate } from './router';
import { ErrorNote, fmtCost, fmtTime, fmtUsage, Json, useAsync, usePaged } from './util';

const PAGE = 20;

export function ThreadList() {
  const [search, setSearch] = useState('');
  const [needle, setNeedle] = useState('');
  // The server searches titles (GET /v1/threads/summaries?title=…); typing settles for 250 ms first.
  useEffect(() => {
    const timer = setTimeout(() => setNeedle(search.trim()), 250);
    return () => clearTimeout(timer);
  }, [search]);
  const { items: shown, cursor, error, loading, load } = usePaged<ThreadSummary>((after) => `/v1/threads/summaries${query({ limit: PAGE, cursor: after, title: needle || undefined })}`, [needle]);
  return (
    <section>
      <div className="toolbar">
        <h1>Threads</h1>
        <label>
          Search titles
          <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} />
        </label>
        <button type="button" onClick={() => void load(null)}>
          Refresh
        </button>
      </div>
      <ErrorNote error={error} />
      <table>
        <thead>
          <tr>
            <th>Title</th>
            <th>Last message</th>
            <th>Messages</th>
            <th>Agent</th>
            <th>Updated</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((t) => (
            <tr key={t.id}>
              <td>
                <Link to={`/threads/${encodeURIComponent(t.id)}`}>{t.title ?? t.id}</Link>
              </td>
              <td className="preview">{t.last_message ? `${t.last_message.role === 'user' ? 'You' : 'Agent'}: ${t.last_message.preview}` : '—'}</td>
              <td>{t.message_count}</td>
              <td>{t.agent_id}</td>
              <td>{fmtTime(t.updated_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {!loading && shown.length === 0 && <p className="muted">{needle ? 'No thread has that in its title.' : 'No threads yet.'}</p>}
      {cursor && (
        <button type="button" disabled={loading} onClick={() => void load(cursor)}>
          Load more
        </button>
      )}
    </section>
  );
}

async function allMessages(id: string, signal: AbortSignal): Promise<Message[]> {
  const out: Message[] = [];
  let after: string | null = null;
  do {
    const page: Page<Message> = await api<Page<Message>>(`/v1/threads/${encodeURIComponent(id)}/messages${query({ order: 'asc', limit: 200, after })}`, { signal });
    out.push(...page.items);
    after = page.next_cursor;
  } while (after);
  return out;
}

export function ThreadDetail({ id }: { id: string }) {
  const thread = useAsync((signal) => api<Thread>(`/v1/threads/${encodeURIComponent(id)}`, { signal }), [id]);
  const messages = useAsync((signal) => allMessages(id, signal), [id]);
  const [title, setTitle] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const [confirming, setConfirming] = useState(false);
  useEffect(() => {
    setTitle(thread.data?.title ?? '');
  }, [thread.data?.title]);

  const rename = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      await api(`/v1/threads/${encodeURIComponent(id)}/metadata`, { method: 'PATCH', body: { title: title.trim() || null } });
      thread.reload();
      setError(undefined);
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  const remove = async () => {
    setBusy(true);
    try {
      await api(`/v1/threads/${encodeURIComponent(id)}`, { method: 'DELETE' });
      navigate('/threads');
    } catch (err) {
      setError(err as Error);
      setBusy(false);
    }
  };

  if (thread.error) return <ErrorNote error={thread.error} />;
  const t = thread.data;
  return (
    <section>
      <p>
        <Link to="/threads">← Threads</Link>
      </p>
      <h1>{t?.title ?? id}</h1>
      {t && (
        <dl className="facts">
          <dt>Id</dt>
          <dd>{t.id}</dd>
          <dt>Agent</dt>
          <dd>{t.agent_id}</dd>
          <dt>Created</dt>
          <dd>{fmtTime(t.created_at)}</dd>
          <dt>Tokens</dt>
          <dd>{fmtUsage(t.usage)}</dd>
          <dt>Estimated cost</dt>
          <dd>{t.usage ? fmtCost(t.usage.cost_usd) : '—'}</dd>
        </dl>
      )}
      <div className="toolbar">
        <form onSubmit={rename} className="inline">
          <label>
            Title
            <input value={title} onChange={(e) => setTitle(e.target.value)} maxLength={500} />
          </label>
          <button type="submit" disabled={busy}>
            Rename
          </button>
        </form>
        <Link to={`/chat/${encodeURIComponent(id)}`}>Continue in chat</Link>
        <Link to={`/runs?thread_id=${encodeURIComponent(id)}`}>Runs of this thread</Link>
        <span className="spacer" />
        {confirming ? (
          <>
            <span>Delete this thread, its messages and runs?</span>
            <button type="button" className="danger" disabled={busy} onClick={() => void remove()}>
              Yes, delete
            </button>
            <button type="button" onClick={() => setConfirming(false)}>
              Keep it
            </button>
          </>
        ) : (
          <button type="button" className="danger" onClick={() => setConfirming(true)}>
            Delete
          </button>
        )}
      </div>
      <ErrorNote error={error ?? messages.error} />
      <ol className="messages" aria-label="Messages">
        {messages.data?.map((m) => (
          <li key={m.id} className={`message ${m.role}`}>
            <div className="who">
              {m.content.every((b) => b.type === 'tool_result') ? 'Tool results' : m.role === 'user' ? 'User' : 'Assistant'}
              <span className="muted small">{fmtTime(m.created_at)}</span>
              {m.run_id && (
                <Link to={`/runs/${m.run_id}`} className="muted small">
                  run
                </Link>
              )}
            </div>
            {m.content.map((b, i) => (
              <Block key={i} block={b} />
            ))}
          </li>
        ))}
      </ol>
    </section>
  );
}

function Block({ block }: { block: ContentBlock }) {
  switch (block.type) {
    case 'text':
      return <div className="text">{String(block.text)}</div>;
    case 'thinking':
      return (
        <details className="reasoning">
          <summary>Reasoning</summary>
          <div className="text">{String(block.thinking)}</div>
        </details>
      );
    case 'tool_use':
      return (
        <article className="tool">
          <header>
            <strong>{String(block.name)}</strong> <span className="badge">call</span>
          </header>
          <Json value={block.input} />
        </article>
      );
    case 'tool_result':
      return (
        <article className={`tool ${block.is_error ? 'tool-output-error' : ''}`}>
          <header>
            <span className="badge">{block.is_error ? 'error result' : 'result'}</span>
          </header>
          <Json value={block.content} />
        </article>
      );
    default:
      return <Json value={block} />;
  }
}
