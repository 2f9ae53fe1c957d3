// The console shell: sign-in when the server asks for a credential, navigation, and the four screens.
import { useEffect, useState, type FormEvent } from 'react';
import { Agents } from './Agents';
import { AgentsContext } from './agents-context';
import { api, ApiError, credential, onUnauthorized, type Agent } from './api';
import { ChatScreen } from './Chat';
import { Link, navigate, useLocation } from './router';
import { RunDetail, RunList } from './Runs';
import { ThreadDetail, ThreadList } from './Threads';
import { ErrorNote } from './util';


type Gate = { state: 'checking' } | { state: 'signin'; error?: string } | { state: 'ready'; agents: Agent[] } | { state: 'error'; error: string };

export function App() {
  const [gate, setGate] = useState<Gate>({ state: 'checking' });
  const check = async () => {
    try {
      const { items } = await api<{ items: Agent[] }>('/v1/agents');
      setGate({ state: 'ready', agents: items });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) setGate({ state: 'signin', error: credential.get() ? 'The server did not accept this credential.' : undefined });
      else setGate({ state: 'error', error: (err as Error).message });
    }
  };
  useEffect(() => {
    void check();
    // A credential that stops working (expired JWT, revoked key) sends the user back to sign-in.
    return onUnauthorized(() => setGate({ state: 'signin', error: 'The server asked for a credential again.' }));
  }, []);

  if (gate.state === 'checking') return <p className="center">Loading…</p>;
  if (gate.state === 'error') return <ErrorNote error={gate.error} />;
  if (gate.state === 'signin')
    return (
      <SignIn
        error={gate.error}
        onSubmit={(value) => {
          credential.set(value);
          setGate({ state: 'checking' });
          void check();
        }}
      />
    );
  return (
    <AgentsContext.Provider value={gate.agents}>
      <Shell
        onSignOut={
          credential.get()
            ? () => {
                credential.clear();
                setGate({ state: 'checking' });
                void check();
              }
            : undefined
        }
      />
    </AgentsContext.Provider>
  );
}

function SignIn({ error, onSubmit }: { error?: string; onSubmit: (value: string) => void }) {
  const [value, setValue] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (value.trim()) onSubmit(value.trim());
  };
  return (
    <main className="signin">
      <h1>Agent server console</h1>
      <p>This server requires a credential. Paste an API key or a JWT; it is kept in this tab only (session storage) and sent as <code>Authorization: Bearer …</code>.</p>
      <form onSubmit={submit}>
        <label>
          API key or JWT
          <input type="password" autoComplete="off" value={value} onChange={(e) => setValue(e.target.value)} />
        </label>
        <button type="submit">Sign in</button>
      </form>
      <ErrorNote error={error} />
    </main>
  );
}

const SCREENS = [
  { name: 'Chat', path: '/chat' },
  { name: 'Threads', path: '/threads' },
  { name: 'Runs', path: '/runs' },
  { name: 'Agents', path: '/agents' },
];

function Shell({ onSignOut }: { onSignOut?: () => void }) {
  const { path, search } = useLocation();
  useEffect(() => {
    if (path === '/' || path === '') navigate('/chat', true);
  }, [path]);
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  let screen;
  switch (parts[0]) {
    case 'threads':
      screen = parts[1] ? <ThreadDetail key={parts[1]} id={parts[1]} /> : <ThreadList />;
      break;
    case 'runs':
      screen = parts[1] ? <RunDetail key={parts[1]} id={parts[1]} /> : <RunList search={search} />;
      break;
    case 'agents':
      screen = <Agents />;
      break;
    case 'chat':
      screen = <ChatScreen chatId={parts[1]} agentParam={search.get('agent') ?? undefined} />;
      break;
    default:
      screen = <p>Loading…</p>;
  }
  return (
    <div className="shell">
      <header>
        <span className="brand">Agent server</span>
        <nav aria-label="Main">
          {SCREENS.map((s) => (
            <Link key={s.name} to={s.path} current={`/${parts[0] ?? ''}` === s.path}>
              {s.name}
            </Link>
          ))}
        </nav>
        <span className="spacer" />
        <a href="/docs/">API docs</a>
        {onSignOut && (
          <button type="button" className="link" onClick={onSignOut}>
            Sign out
          </button>
        )}
      </header>
      <main>{screen}</main>
    </div>
  );
}
