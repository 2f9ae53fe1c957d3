// Chat: useChat over the AI SDK route, with reload-resume, reasoning, tool cards and approvals.
import { useChat } from '@ai-sdk/react';
import { DefaultChatTransport, lastAssistantMessageIsCompleteWithApprovalResponses, type UIMessage } from 'ai';
import { useEffect, useMemo, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { useAgents } from './agents-context';
import { api, ApiError, authHeaders, errorMessage, type Thread } from './api';
import { Link, navigate } from './router';
import { ErrorNote, Json, useAsync } from './util';

/** A fresh chat (= thread) id; getRandomValues works on plain http too, where randomUUID does not. */
function newChatId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(9));
  return `chat-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** Ids this tab made up: no thread yet, so not looked up (a 404 would only log an error). */
const fresh = new Set<string>();

const aiBase = (agentId: string) => `/v1/ai-sdk/agents/${encodeURIComponent(agentId)}`;

export function ChatScreen({ chatId, agentParam }: { chatId?: string; agentParam?: string }) {
  const agents = useAgents();
  useEffect(() => {
    if (chatId) return;
    const id = newChatId();
    fresh.add(id);
    navigate(`/chat/${id}${agentParam ? `?agent=${encodeURIComponent(agentParam)}` : ''}`, true);
  }, [chatId, agentParam]);
  // An existing thread keeps its agent; a new chat takes the one picked (default: the first).
  const loaded = useAsync(
    async (signal) => {
      if (!chatId) return undefined;
      let thread: Thread | undefined;
      if (!fresh.has(chatId)) {
        try {
          thread = await api<Thread>(`/v1/threads/${encodeURIComponent(chatId)}`, { signal });
        } catch (err) {
          if (!(err instanceof ApiError && err.status === 404)) throw err;
        }
      }
      const agentId = thread?.agent_id ?? (agents.some((a) => a.id === agentParam) ? agentParam! : agents[0]?.id);
      if (!agentId) throw new Error('the server has no agents');
      const { messages } = thread ? await api<{ messages: UIMessage[] }>(`${aiBase(agentId)}/chats/${encodeURIComponent(chatId)}/messages`, { signal }) : { messages: [] };
      return { thread, agentId, messages };
    },
    [chatId, agentParam],
  );
  if (!chatId || loaded.loading) return <p>Loading…</p>;
  if (loaded.error || !loaded.data) return <ErrorNote error={loaded.error} />;
  const { thread, agentId, messages } = loaded.data;
  return (
    <section className="chat">
      <div className="toolbar">
        <h1>Chat</h1>
        <label>
          Agent
          <select
            value={agentId}
            disabled={thread !== undefined}
            onChange={(e) => navigate(`/chat/${chatId}?agent=${encodeURIComponent(e.target.value)}`, true)}
          >
            {agents.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name} ({a.model})
              </option>
            ))}
          </select>
        </label>
        <span className="muted">thread {chatId}</span>
        <span className="spacer" />
        <button type="button" onClick={() => navigate(`/chat?agent=${encodeURIComponent(agentId)}`)}>
          New chat
        </button>
      </div>
      <ChatSession key={`${chatId}/${agentId}`} chatId={chatId} agentId={agentId} initial={messages} />
    </section>
  );
}

function ChatSession({ chatId, agentId, initial }: { chatId: string; agentId: string; initial: UIMessage[] }) {
  const base = aiBase(agentId);
  const transport = useMemo(
    () =>
      new DefaultChatTransport<UIMessage>({
        api: `${base}/runs`,
        // Read on every request, so a credential given later is used.
        headers: () => authHeaders(),
        prepareReconnectToStreamRequest: ({ id }) => ({ api: `${base}/chats/${encodeURIComponent(id)}/stream` }),
      }),
    [base],
  );
  const { messages, sendMessage, status, error, stop, addToolApprovalResponse, clearError } = useChat({
    id: chatId,
    messages: initial,
    // On mount: GET …/chats/:id/stream; a run still going (a reload mid-answer) is replayed and followed.
    resume: true,
    transport,
    sendAutomaticallyWhen: lastAssistantMessageIsCompleteWithApprovalResponses,
  });
  const [text, setText] = useState('');
  const end = useRef<HTMLDivElement>(null);
  useEffect(() => {
    end.current?.scrollIntoView?.({ block: 'end' });
  }, [messages]);
  const busy = status === 'submitted' || status === 'streaming';
  const lastRunId = [...messages].reverse().find((m) => m.role === 'assistant' && (m.metadata as { runId?: string } | undefined)?.runId)?.metadata as { runId?: string } | undefined;

  const submit = (e?: FormEvent) => {
    e?.preventDefault();
    const t = text.trim();
    if (!t || busy) return;
    clearError();
    setText('');
    void sendMessage({ text: t });
  };
  const onKey = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && !e.shiftKey) submit(e as unknown as FormEvent);
  };
  const cancel = async () => {
    if (lastRunId?.runId) await api(`/v1/runs/${encodeURIComponent(lastRunId.runId)}/cancel`, { method: 'POST' }).catch(() => undefined);
    await stop();
  };

  return (
    <>
      <ol className="messages" aria-label="Messages">
        {messages.length === 0 && <li className="muted">Send a message to start.</li>}
        {messages.map((m) => (
          <MessageView key={m.id} message={m} onDecision={(id, approved, reason) => void addToolApprovalResponse({ id, approved, ...(reason ? { reason } : {}) })} />
        ))}
      </ol>
      <div ref={end} />
      {busy && (
        <p className="muted" role="status">
          {status === 'submitted' ? 'Waiting for the agent…' : 'Answering…'}
        </p>
      )}
      <ErrorNote error={error ? errorMessage(error.message) : undefined} />
      <form className="composer" onSubmit={submit}>
        <textarea aria-label="Message" placeholder="Message the agent (Enter sends, Shift+Enter for a new line)" value={text} onChange={(e) => setText(e.target.value)} onKeyDown={onKey} rows={3} />
        <div className="buttons">
          <button type="submit" disabled={busy || !text.trim()}>
            Send
          </button>
          {busy && (
            <button type="button" onClick={() => void cancel()}>
              Cancel run
            </button>
          )}
        </div>
      </form>
    </>
  );
}

type Part = UIMessage['parts'][number];
interface ToolPart {
  type: string;
  toolName?: string;
  toolCallId: string;
  state: string;
  input?: unknown;
  output?: unknown;
  errorText?: string;
  approval?: { id: string; approved?: boolean; reason?: string };
}

function MessageView({ message, onDecision }: { message: UIMessage; onDecision: (approvalId: string, approved: boolean, reason?: string) => void }) {
  const meta = message.metadata as { runId?: string; status?: string; error?: { code: string; message: string } } | undefined;
  return (
    <li className={`message ${message.role}`} aria-label={message.role === 'user' ? 'You' : 'Agent'}>
      <div className="who">
        {message.role === 'user' ? 'You' : 'Agent'}
        {meta?.runId && (
          <Link to={`/runs/${meta.runId}`} className="muted small">
            run timeline
          </Link>
        )}
      </div>
      {message.parts.map((p, i) => (
        <PartView key={i} part={p} onDecision={onDecision} />
      ))}
      {meta?.error && <ErrorNote error={`${meta.error.message} (${meta.error.code})`} />}
    </li>
  );
}

function PartView({ part, onDecision }: { part: Part; onDecision: (approvalId: string, approved: boolean, reason?: string) => void }) {
  if (part.type === 'text') return <div className="text">{part.text}</div>;
  if (part.type === 'reasoning')
    return (
      <details className="reasoning">
        <summary>Reasoning</summary>
        <div className="text">{part.text}</div>
      </details>
    );
  if (part.type === 'dynamic-tool' || part.type.startsWith('tool-')) return <ToolCard part={part as unknown as ToolPart} onDecision={onDecision} />;
  return null;
}

const TOOL_STATE: Record<string, string> = {
  'input-streaming': 'preparing input',
  'input-available': 'running',
  'approval-requested': 'waiting for approval',
  'approval-responded': 'decided',
  'output-available': 'done',
  'output-error': 'error',
  'output-denied': 'denied',
};

function ToolCard({ part, onDecision }: { part: ToolPart; onDecision: (approvalId: string, approved: boolean, reason?: string) => void }) {
  const name = part.toolName ?? part.type.replace(/^tool-/, '');
  const [reason, setReason] = useState('');
  return (
    <article className={`tool tool-${part.state}`} aria-label={`Tool call ${name}`}>
      <header>
        <strong>{name}</strong> <span className="badge">{TOOL_STATE[part.state] ?? part.state}</span>
      </header>
      <div className="io">
        <div>
          <div className="label">Input</div>
          <Json value={part.input ?? {}} label={`${name} input`} />
        </div>
        {part.state === 'output-available' && (
          <div>
            <div className="label">Output</div>
            <Json value={part.output} label={`${name} output`} />
          </div>
        )}
        {part.state === 'output-error' && <ErrorNote error={part.errorText ?? 'the tool failed'} />}
        {part.state === 'output-denied' && <p className="muted">Denied{part.approval?.reason ? `: ${part.approval.reason}` : ''}</p>}
      </div>
      {part.state === 'approval-requested' && part.approval && (
        <div className="approval">
          <label>
            Reason
            <input value={reason} onChange={(e) => setReason(e.target.value)} placeholder="Told to the model when you deny" />
          </label>
          <button type="button" onClick={() => onDecision(part.approval!.id, true)}>
            Approve
          </button>
          <button type="button" className="danger" onClick={() => onDecision(part.approval!.id, false, reason.trim() || undefined)}>
            Deny
          </button>
        </div>
      )}
    </article>
  );
}
