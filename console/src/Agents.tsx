// Agents: each configured agent's model, tools with their policies, and MCP servers (started or not).
import { useAgents } from './agents-context';
import { Link } from './router';

export function Agents() {
  const agents = useAgents();
  return (
    <section>
      <h1>Agents</h1>
      {agents.map((a) => {
        const policies = a.tool_policies ?? Object.fromEntries(a.tools.map((t) => [t, 'allow' as const]));
        return (
          <article key={a.id} className="card" aria-label={`Agent ${a.id}`}>
            <header>
              <h2>
                {a.name} <span className="muted small">{a.id}</span>
              </h2>
              <Link to={`/chat?agent=${encodeURIComponent(a.id)}`}>Chat with it</Link>
            </header>
            {a.description && <p>{a.description}</p>}
            <dl className="facts">
              <dt>Model</dt>
              <dd>{a.model}</dd>
            </dl>
            <h3>Tools</h3>
            {Object.keys(policies).length === 0 ? (
              <p className="muted">No tools.</p>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th>Tool</th>
                    <th>Policy</th>
                  </tr>
                </thead>
                <tbody>
                  {Object.entries(policies).map(([tool, policy]) => (
                    <tr key={tool}>
                      <td>{tool}</td>
                      <td>
                        <span className={`badge policy-${policy}`}>{policy}</span>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            <h3>MCP servers</h3>
            {!a.mcp_servers?.length ? (
              <p className="muted">None.</p>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th>Server</th>
                    <th>Transport</th>
                    <th>Started</th>
                    <th>Tools</th>
                  </tr>
                </thead>
                <tbody>
                  {a.mcp_servers.map((s) => (
                    <tr key={s.name}>
                      <td>{s.name}</td>
                      <td>{s.transport}</td>
                      <td>
                        <span className={`badge ${s.started ? 'status-completed' : 'status-failed'}`}>{s.started ? 'started' : 'not started'}</span>
                      </td>
                      <td>{s.tools.length ? s.tools.join(', ') : '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </article>
        );
      })}
    </section>
  );
}
