import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

export interface Config {
  host: string;
  port: number;
  model: string;
  /** Exactly one credential is passed to the SDK; the auth token wins when both are set. */
  credentials: { apiKey: string } | { authToken: string } | null;
  anthropicBaseUrl?: string;
  /** `AGENTSDK_PUBLIC_URL`: the server's public base URL (A2A cards advertise it); default: each request's own host. */
  publicUrl?: string;
  anthropicMaxRetries: number;
  databaseUrl: string;
  /** `DATABASE_POOL_SIZE`: PostgreSQL connections per instance (plus one for LISTEN). */
  databasePoolSize: number;
  /** `AGENTSDK_LEASE_MS`: how long an instance's runs are safe from recovery without a heartbeat (sent every lease/3). */
  leaseMs: number;
  agentsFile?: string;
  shutdownGraceMs: number;
  ssePingMs: number;
  toolTimeoutMs: number;
  /** `AGENTSDK_WORKSPACE` (absolute): default root of the file and shell tools. */
  workspace: string;
  /** `AGENTSDK_FETCH_ALLOW`: hosts (`name`, `*.suffix`), IPs and CIDRs http_fetch may reach although private. */
  fetchAllow: string[];
  /** `AGENTSDK_FETCH_MAX_BYTES`: response bodies are cut at this size (default 64 KiB, under the 100 000-character cap on every tool result). */
  fetchMaxBytes: number;
  /** `AGENTSDK_SHELL=on`: the shell tool exists only then. */
  shellEnabled: boolean;
  /** `AGENTSDK_MCP_START_TIMEOUT_MS`: how long an MCP server has to connect and list its tools. */
  mcpStartTimeoutMs: number;
  logLevel: string;
  production: boolean;
}

export const DEFAULT_MODEL = 'claude-sonnet-5-5';
export const DEFAULT_DATABASE_URL = 'sqlite:./data/agent-server.sqlite';

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Heartbeats go every lease/3; below this a busy event loop could miss its own lease. */
const MIN_LEASE_MS = 300;

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** Reads env and argv; collects every problem so one start-up shows them all. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, argv: string[] = process.argv.slice(2)): Config {
  const problems: string[] = [];
  let flags: Record<string, string | undefined> = {};
  try {
    flags = parseArgs({
      args: argv,
      options: { model: { type: 'string' }, agents: { type: 'string' }, addr: { type: 'string' }, 'database-url': { type: 'string' } },
      strict: true,
    }).values as Record<string, string | undefined>;
  } catch (err) {
    problems.push(`${(err as Error).message} (flags: --model, --agents, --addr, --database-url)`);
  }

  const addr = flags.addr ?? env.AGENTSDK_HTTP_ADDR ?? ':8080';
  let host = '0.0.0.0';
  let port = 8080;
  const m = /^(.*):(\d+)$/.exec(addr.trim());
  if (!m || Number(m[2]) > 65535) {
    problems.push(`AGENTSDK_HTTP_ADDR "${addr}" must look like ":8080" or "127.0.0.1:8080" (port 0-65535)`);
  } else {
    host = m[1] === '' ? '0.0.0.0' : m[1].replace(/^\[(.*)\]$/, '$1');
    port = Number(m[2]);
  }

  const int = (name: string, def: number, min: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return def;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) {
      problems.push(`${name} "${raw}" must be an integer >= ${min}`);
      return def;
    }
    return n;
  };

  const model = (flags.model ?? env.AGENTSDK_MODEL ?? DEFAULT_MODEL).trim();
  if (!model) problems.push('AGENTSDK_MODEL / --model must not be empty');

  const baseUrl = env.ANTHROPIC_BASE_URL?.trim() || undefined;
  if (baseUrl) {
    try {
      const u = new URL(baseUrl);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
    } catch {
      problems.push(`ANTHROPIC_BASE_URL "${baseUrl}" must be an http(s) URL`);
    }
  }

  let publicUrl = env.AGENTSDK_PUBLIC_URL?.trim() || undefined;
  if (publicUrl) {
    try {
      const u = new URL(publicUrl);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
      publicUrl = publicUrl.replace(/\/+$/, '');
    } catch {
      problems.push(`AGENTSDK_PUBLIC_URL "${publicUrl}" must be an http(s) URL`);
    }
  }

  const token = env.ANTHROPIC_AUTH_TOKEN?.trim();
  const key = env.ANTHROPIC_API_KEY?.trim();
  const credentials = token ? { authToken: token } : key ? { apiKey: key } : null;

  const databaseUrl = (flags['database-url'] ?? env.DATABASE_URL ?? '').trim() || DEFAULT_DATABASE_URL;
  if (!/^(sqlite:|postgres(ql)?:\/\/)/.test(databaseUrl) && !databaseUrl.endsWith('.sqlite') && !databaseUrl.endsWith('.db') && databaseUrl !== ':memory:') {
    problems.push(`DATABASE_URL "${redactUrl(databaseUrl)}" must be sqlite:<path>, a path ending in .sqlite/.db, :memory:, or postgres://…`);
  }

  const fetchAllow = (env.AGENTSDK_FETCH_ALLOW ?? '').split(',').map((e) => e.trim().toLowerCase()).filter(Boolean);
  for (const entry of fetchAllow) {
    if (!isAllowEntry(entry)) problems.push(`AGENTSDK_FETCH_ALLOW entry "${entry}" must be a host name, *.domain, an IP address or a CIDR such as 10.0.0.0/8`);
  }

  const shell = (env.AGENTSDK_SHELL ?? '').trim().toLowerCase();
  if (!['', 'on', 'off', 'true', 'false', '1', '0'].includes(shell)) problems.push(`AGENTSDK_SHELL "${env.AGENTSDK_SHELL}" must be on or off`);

  const logLevel = env.LOG_LEVEL?.trim() || 'info';
  if (!LOG_LEVELS.has(logLevel)) problems.push(`LOG_LEVEL "${logLevel}" must be one of ${[...LOG_LEVELS].join(', ')}`);

  const config: Config = {
    host,
    port,
    model,
    credentials,
    anthropicBaseUrl: baseUrl,
    publicUrl,
    anthropicMaxRetries: int('ANTHROPIC_MAX_RETRIES', 2, 0),
    databaseUrl,
    databasePoolSize: int('DATABASE_POOL_SIZE', 10, 1),
    leaseMs: int('AGENTSDK_LEASE_MS', 15_000, MIN_LEASE_MS),
    agentsFile: flags.agents ?? (env.AGENTS_FILE?.trim() || undefined),
    shutdownGraceMs: int('AGENTSDK_SHUTDOWN_GRACE_MS', 30_000, 0),
    ssePingMs: int('AGENTSDK_SSE_PING_MS', 15_000, 10),
    toolTimeoutMs: int('AGENTSDK_TOOL_TIMEOUT_MS', 60_000, 1),
    workspace: resolve(env.AGENTSDK_WORKSPACE?.trim() || 'workspace'),
    fetchAllow,
    fetchMaxBytes: int('AGENTSDK_FETCH_MAX_BYTES', 65_536, 1),
    shellEnabled: ['on', 'true', '1'].includes(shell),
    mcpStartTimeoutMs: int('AGENTSDK_MCP_START_TIMEOUT_MS', 20_000, 1),
    logLevel,
    production: env.NODE_ENV === 'production',
  };
  if (problems.length) throw new ConfigError(problems);
  return config;
}

function isAllowEntry(entry: string): boolean {
  const [addr, prefix, ...rest] = entry.split('/');
  if (prefix !== undefined) {
    const max = isIP(addr) === 4 ? 32 : isIP(addr) === 6 ? 128 : 0;
    return rest.length === 0 && max > 0 && /^\d+$/.test(prefix) && Number(prefix) <= max;
  }
  return isIP(entry.replace(/^\[(.*)\]$/, '$1')) !== 0 || /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(entry);
}

/** Hides a password in a connection URL before it is logged. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:***@');
}
