import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
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
  /** `AGENTSDK_HEAP_GROWING_PERCENT`: V8's old-generation growth between full GCs (0: V8's own, up to 4× the live heap). */
  heapGrowingPercent: number;
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
  /** Who may call the API (src/auth). */
  auth: AuthConfig;
  /** `AGENTSDK_CORS_ORIGINS`: browser origins allowed cross-origin (exact, `https://*.domain`, or `*`); empty = no CORS headers. */
  corsOrigins: string[];
  /** `AGENTSDK_ALLOWED_HOSTS`: Host names trusted for URLs we hand out and for browser requests without credentials (default: loopback names + the listen address). */
  allowedHosts: string[];
  /** `AGENTSDK_METRICS=off`: no Prometheus metrics (default on). */
  metrics: boolean;
  /** `AGENTSDK_METRICS_ADDR` (`host:port`): `/metrics` on a listener of its own, without auth, and not on the main one. */
  metricsAddr?: { host: string; port: number };
  /** OpenTelemetry traces go to this OTLP/HTTP URL: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, or `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`; none: tracing is off (also with `OTEL_SDK_DISABLED=true`). */
  tracesUrl?: string;
  /** `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`: spans carry message contents. */
  traceContent: boolean;
  /** `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` / `OTEL_EXPORTER_OTLP_PROTOCOL`: how spans are encoded (default http/protobuf). */
  tracesProtocol: 'http/protobuf' | 'http/json';
  /** `OTEL_TRACES_SAMPLER` (+ `OTEL_TRACES_SAMPLER_ARG`, a ratio in [0, 1], default 1): which traces are recorded (default parentbased_always_on). */
  tracesSampler: { name: TracesSampler; ratio: number };
  /** `AGENTSDK_MODEL_PRICES`: USD per million tokens by model, for the usage API's cost estimate. */
  modelPrices: Record<string, ModelPrice>;
  /** `AGENTSDK_RATE_RUNS_PER_MINUTE`, `AGENTSDK_RATE_CONCURRENT_RUNS`, `AGENTSDK_DAILY_TOKEN_BUDGET`: per principal; unset = unlimited. */
  limits: RateLimits;
  /** Completion webhooks (`AGENTSDK_WEBHOOK_*`). */
  webhooks: WebhookConfig;
}

export interface WebhookConfig {
  /** `AGENTSDK_WEBHOOK_SECRET` (`whsec_<base64>`, Standard Webhooks): signs every delivery; unset: runs asking for a webhook are refused (400). */
  secret?: string;
  /** `AGENTSDK_WEBHOOK_MAX_ATTEMPTS`: attempts per delivery before it is `failed`. */
  maxAttempts: number;
  /** `AGENTSDK_WEBHOOK_RETRY_MS`: the first retry's delay; each next one doubles, up to 10 minutes. */
  retryMs: number;
  /** `AGENTSDK_WEBHOOK_TIMEOUT_MS`: one attempt's time limit (no answer by then: retried). */
  timeoutMs: number;
  /** `AGENTSDK_WEBHOOK_POLL_MS`: how often an instance looks for due deliveries (its own are sent at once). */
  pollMs: number;
}

/** USD per million tokens; cache prices default to Anthropic's multipliers of `input` (0.1× reads, 1.25× writes). */
export interface ModelPrice {
  input: number;
  output: number;
  cache_read: number;
  cache_write: number;
}

/** Per-principal limits; an API key's own values override the global ones field by field. */
export interface RateLimits {
  runsPerMinute?: number;
  concurrentRuns?: number;
  /** Tokens (input + output + cache reads and writes) per UTC day. */
  dailyTokenBudget?: number;
}

/** One API key as the server keeps it: never the key itself, only its SHA-256. */
export interface ApiKeyConfig {
  /** The principal id. */
  name: string;
  /** Hex SHA-256 of the key. */
  sha256: string;
  admin: boolean;
  /** `runs_per_minute`, `concurrent_runs`, `daily_token_budget` of its keys-file entry. */
  limits?: RateLimits;
}

export interface AuthConfig {
  /** `AGENTSDK_AUTH=none`: no authentication for anyone (loud warning at start-up). */
  disabled: boolean;
  /** `AGENTSDK_API_KEYS` (admin keys) and `AGENTSDK_API_KEYS_FILE` entries. */
  apiKeys: ApiKeyConfig[];
  jwt?: {
    /** `AGENTSDK_JWT_JWKS_URL`: asymmetric tokens (RS/PS/ES/EdDSA) checked against this key set. */
    jwksUrl?: string;
    /** `AGENTSDK_JWT_SECRET`: HS256 tokens (for development). */
    secret?: string;
    issuer?: string;
    audience?: string;
  };
  /** `AGENTSDK_STREAM_TOKEN_SECRET`: HMAC key of stream tokens; default: random per start (set it when several instances share a load balancer). */
  streamTokenSecret?: string;
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

  const auth = loadAuth(env, problems);

  const corsOrigins = list(env.AGENTSDK_CORS_ORIGINS).map((o) => o.replace(/\/+$/, ''));
  for (const o of corsOrigins) {
    if (!isCorsEntry(o)) problems.push(`AGENTSDK_CORS_ORIGINS entry "${o}" must be an origin (https://app.example.com), a pattern (https://*.example.com, *.example.com) or *`);
  }

  const explicitHosts = list(env.AGENTSDK_ALLOWED_HOSTS).map((h) => h.toLowerCase().replace(/^\[(.*)\]$/, '$1'));
  for (const h of explicitHosts) {
    if (!isAllowEntry(h) || h.includes('/')) problems.push(`AGENTSDK_ALLOWED_HOSTS entry "${h}" must be a host name, *.domain or an IP address (no scheme or port)`);
  }

  // OTLP/HTTP encoding, by the OpenTelemetry spec's variables (its default is protobuf, also the cheaper one to send).
  const tracesProtocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL?.trim() || env.OTEL_EXPORTER_OTLP_PROTOCOL?.trim() || 'http/protobuf').toLowerCase();
  if (tracesProtocol !== 'http/protobuf' && tracesProtocol !== 'http/json') {
    problems.push(`OTEL_EXPORTER_OTLP_PROTOCOL "${tracesProtocol}" must be http/protobuf or http/json (grpc is not supported)`);
  }
  const samplerName = (env.OTEL_TRACES_SAMPLER?.trim() || 'parentbased_always_on').toLowerCase() as TracesSampler;
  if (!TRACES_SAMPLERS.includes(samplerName)) problems.push(`OTEL_TRACES_SAMPLER "${samplerName}" must be one of ${TRACES_SAMPLERS.join(', ')}`);
  const samplerRatio = env.OTEL_TRACES_SAMPLER_ARG?.trim() ? Number(env.OTEL_TRACES_SAMPLER_ARG.trim()) : 1;
  if (!(samplerRatio >= 0 && samplerRatio <= 1)) problems.push('OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1');
  const metricsFlag = (env.AGENTSDK_METRICS ?? '').trim().toLowerCase();
  if (!['', 'on', 'off', 'true', 'false', '1', '0'].includes(metricsFlag)) problems.push(`AGENTSDK_METRICS "${env.AGENTSDK_METRICS}" must be on or off`);
  let metricsAddr: Config['metricsAddr'];
  const rawMetricsAddr = env.AGENTSDK_METRICS_ADDR?.trim();
  if (rawMetricsAddr) {
    const mm = /^(.*):(\d+)$/.exec(rawMetricsAddr);
    if (!mm || Number(mm[2]) > 65535) problems.push(`AGENTSDK_METRICS_ADDR "${rawMetricsAddr}" must look like ":9464" or "127.0.0.1:9464" (port 0-65535)`);
    else metricsAddr = { host: mm[1] === '' ? '0.0.0.0' : mm[1].replace(/^\[(.*)\]$/, '$1'), port: Number(mm[2]) };
  }

  const logLevel = env.LOG_LEVEL?.trim() || 'info';
  if (!LOG_LEVELS.has(logLevel)) problems.push(`LOG_LEVEL "${logLevel}" must be one of ${[...LOG_LEVELS].join(', ')}`);

  const optionalInt = (name: string): number | undefined => {
    const raw = env[name]?.trim();
    return raw ? int(name, 0, 1) : undefined;
  };
  const limits: RateLimits = {
    runsPerMinute: optionalInt('AGENTSDK_RATE_RUNS_PER_MINUTE'),
    concurrentRuns: optionalInt('AGENTSDK_RATE_CONCURRENT_RUNS'),
    dailyTokenBudget: optionalInt('AGENTSDK_DAILY_TOKEN_BUDGET'),
  };
  const modelPrices = parsePrices(env.AGENTSDK_MODEL_PRICES, problems);
  const webhookSecret = env.AGENTSDK_WEBHOOK_SECRET?.trim() || undefined;
  // Never echo the secret itself.
  if (webhookSecret !== undefined && !isWebhookSecret(webhookSecret)) problems.push('AGENTSDK_WEBHOOK_SECRET must be "whsec_" followed by 24 to 64 bytes in base64 (Standard Webhooks), e.g. whsec_$(openssl rand -base64 32)');

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
    heapGrowingPercent: int('AGENTSDK_HEAP_GROWING_PERCENT', 100, 0),
    ssePingMs: int('AGENTSDK_SSE_PING_MS', 15_000, 10),
    toolTimeoutMs: int('AGENTSDK_TOOL_TIMEOUT_MS', 60_000, 1),
    workspace: resolve(env.AGENTSDK_WORKSPACE?.trim() || 'workspace'),
    fetchAllow,
    fetchMaxBytes: int('AGENTSDK_FETCH_MAX_BYTES', 65_536, 1),
    shellEnabled: ['on', 'true', '1'].includes(shell),
    mcpStartTimeoutMs: int('AGENTSDK_MCP_START_TIMEOUT_MS', 20_000, 1),
    logLevel,
    production: env.NODE_ENV === 'production',
    auth,
    corsOrigins,
    allowedHosts: explicitHosts.length ? explicitHosts : defaultAllowedHosts(host),
    metrics: !['off', 'false', '0'].includes(metricsFlag),
    metricsAddr,
    tracesUrl: env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true' ? undefined : env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || (env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() ? `${env.OTEL_EXPORTER_OTLP_ENDPOINT.trim().replace(/\/+$/, '')}/v1/traces` : undefined),
    traceContent: env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT?.trim().toLowerCase() === 'true',
    tracesProtocol: tracesProtocol === 'http/json' ? 'http/json' : 'http/protobuf',
    tracesSampler: { name: samplerName, ratio: samplerRatio },
    modelPrices,
    limits,
    webhooks: {
      secret: webhookSecret,
      maxAttempts: int('AGENTSDK_WEBHOOK_MAX_ATTEMPTS', 8, 1),
      retryMs: int('AGENTSDK_WEBHOOK_RETRY_MS', 2_000, 1),
      timeoutMs: int('AGENTSDK_WEBHOOK_TIMEOUT_MS', 10_000, 1),
      pollMs: int('AGENTSDK_WEBHOOK_POLL_MS', 1_000, 10),
    },
  };
  if (problems.length) throw new ConfigError(problems);
  return config;
}

const PRICE_FIELDS = ['input', 'output', 'cache_read', 'cache_write'];

/** `{"<model>": {"input": …, "output": …, "cache_read"?: …, "cache_write"?: …}}` (USD per MTok). */
function parsePrices(raw: string | undefined, problems: string[]): Record<string, ModelPrice> {
  if (!raw?.trim()) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    problems.push(`AGENTSDK_MODEL_PRICES is not valid JSON: ${(err as Error).message}`);
    return {};
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    problems.push('AGENTSDK_MODEL_PRICES must be an object: {"<model>": {"input": USD per MTok, "output": …}}');
    return {};
  }
  const out: Record<string, ModelPrice> = {};
  for (const [model, p] of Object.entries(parsed as Record<string, unknown>)) {
    const at = `AGENTSDK_MODEL_PRICES["${model}"]`;
    if (typeof p !== 'object' || p === null || Array.isArray(p)) {
      problems.push(`${at} must be an object with input and output prices`);
      continue;
    }
    const e = p as Record<string, unknown>;
    const unknown = Object.keys(e).filter((k) => !PRICE_FIELDS.includes(k));
    if (unknown.length) problems.push(`${at}: unknown field(s) ${unknown.join(', ')} (only ${PRICE_FIELDS.join(', ')})`);
    const num = (k: string) => typeof e[k] === 'number' && Number.isFinite(e[k]) && (e[k] as number) >= 0;
    const bad = PRICE_FIELDS.filter((k) => (k === 'input' || k === 'output' || e[k] !== undefined) && !num(k));
    if (bad.length) {
      problems.push(`${at}: ${bad.join(', ')} must be non-negative numbers (USD per million tokens)`);
      continue;
    }
    const input = e.input as number;
    out[model] = { input, output: e.output as number, cache_read: (e.cache_read as number | undefined) ?? input * 0.1, cache_write: (e.cache_write as number | undefined) ?? input * 1.25 };
  }
  return out;
}

const list = (raw: string | undefined) => (raw ?? '').split(',').map((e) => e.trim()).filter(Boolean);

/** Keys shorter than this are guessable; refuse them rather than run with them. */
const MIN_API_KEY_LENGTH = 16;
const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$/;

function loadAuth(env: NodeJS.ProcessEnv, problems: string[]): AuthConfig {
  const mode = (env.AGENTSDK_AUTH ?? '').trim().toLowerCase();
  if (mode !== '' && mode !== 'none') problems.push(`AGENTSDK_AUTH "${env.AGENTSDK_AUTH}" must be none or unset`);
  const apiKeys: ApiKeyConfig[] = [];
  for (const key of list(env.AGENTSDK_API_KEYS)) {
    if (key.length < MIN_API_KEY_LENGTH || /\s/.test(key)) {
      // Never echo the key itself.
      problems.push(`AGENTSDK_API_KEYS: key #${apiKeys.length + 1} must be at least ${MIN_API_KEY_LENGTH} characters without spaces`);
      continue;
    }
    const sha256 = createHash('sha256').update(key).digest('hex');
    apiKeys.push({ name: `key_${sha256.slice(0, 8)}`, sha256, admin: true });
  }
  const file = env.AGENTSDK_API_KEYS_FILE?.trim();
  if (file) apiKeys.push(...readKeysFile(file, problems));
  const names = new Set<string>();
  const hashes = new Set<string>();
  for (const k of apiKeys) {
    if (names.has(k.name)) problems.push(`API key name "${k.name}" is used twice`);
    if (hashes.has(k.sha256)) problems.push(`API key "${k.name}": the same key is configured twice`);
    names.add(k.name);
    hashes.add(k.sha256);
  }

  const jwksUrl = env.AGENTSDK_JWT_JWKS_URL?.trim() || undefined;
  if (jwksUrl && !isHttpUrl(jwksUrl)) problems.push(`AGENTSDK_JWT_JWKS_URL "${jwksUrl}" must be an http(s) URL`);
  const secret = env.AGENTSDK_JWT_SECRET || undefined;
  if (secret !== undefined && Buffer.byteLength(secret) < 32) problems.push('AGENTSDK_JWT_SECRET must be at least 32 bytes (HS256 key)');
  const issuer = env.AGENTSDK_JWT_ISSUER?.trim() || undefined;
  const audience = env.AGENTSDK_JWT_AUDIENCE?.trim() || undefined;
  if ((issuer || audience) && !jwksUrl && !secret) problems.push('AGENTSDK_JWT_ISSUER / AGENTSDK_JWT_AUDIENCE need AGENTSDK_JWT_JWKS_URL or AGENTSDK_JWT_SECRET');
  const streamTokenSecret = env.AGENTSDK_STREAM_TOKEN_SECRET || undefined;
  if (streamTokenSecret !== undefined && Buffer.byteLength(streamTokenSecret) < 32) problems.push('AGENTSDK_STREAM_TOKEN_SECRET must be at least 32 bytes');
  if (streamTokenSecret !== undefined && streamTokenSecret === secret) problems.push('AGENTSDK_STREAM_TOKEN_SECRET must differ from AGENTSDK_JWT_SECRET');

  const disabled = mode === 'none';
  if (disabled && (apiKeys.length || jwksUrl || secret)) problems.push('AGENTSDK_AUTH=none contradicts the configured API keys / JWT settings: remove one or the other');
  return { disabled, apiKeys, jwt: jwksUrl || secret ? { jwksUrl, secret, issuer, audience } : undefined, streamTokenSecret };
}

const KEY_FIELDS = ['name', 'sha256', 'admin', 'runs_per_minute', 'concurrent_runs', 'daily_token_budget'];

/** `[{ name, sha256, admin, runs_per_minute?, concurrent_runs?, daily_token_budget? }]` (or `{ keys: [...] }`): hashes only, so the file is no secret. */
function readKeysFile(file: string, problems: string[]): ApiKeyConfig[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    problems.push(`AGENTSDK_API_KEYS_FILE "${file}": ${(err as Error).message}`);
    return [];
  }
  const entries = Array.isArray(parsed) ? parsed : (parsed as { keys?: unknown })?.keys;
  if (!Array.isArray(entries)) {
    problems.push(`AGENTSDK_API_KEYS_FILE "${file}" must hold an array of { "name", "sha256", "admin" }`);
    return [];
  }
  const out: ApiKeyConfig[] = [];
  entries.forEach((e: Record<string, unknown>, i) => {
    const at = `AGENTSDK_API_KEYS_FILE entry #${i + 1}`;
    if (typeof e !== 'object' || e === null) return void problems.push(`${at} must be an object`);
    const unknown = Object.keys(e).filter((k) => !KEY_FIELDS.includes(k));
    // A "key" field would mean the plaintext key sits in the file: refuse it.
    if (unknown.length) return void problems.push(`${at}: unknown field(s) ${unknown.join(', ')} (only ${KEY_FIELDS.join(', ')}; never the key itself)`);
    const { name, sha256, admin } = e;
    if (typeof name !== 'string' || !KEY_NAME.test(name) || name.startsWith('key_') || name === 'local' || name === 'anonymous') {
      return void problems.push(`${at}: name must match ${KEY_NAME} and not be "local", "anonymous" or start with "key_"`);
    }
    if (typeof sha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(sha256)) return void problems.push(`${at} ("${name}"): sha256 must be 64 hex digits`);
    if (admin !== undefined && typeof admin !== 'boolean') return void problems.push(`${at} ("${name}"): admin must be true or false`);
    const limits: RateLimits = {};
    for (const [field, prop] of [['runs_per_minute', 'runsPerMinute'], ['concurrent_runs', 'concurrentRuns'], ['daily_token_budget', 'dailyTokenBudget']] as const) {
      const v = e[field];
      if (v === undefined) continue;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) return void problems.push(`${at} ("${name}"): ${field} must be an integer >= 1`);
      limits[prop] = v;
    }
    out.push({ name, sha256: sha256.toLowerCase(), admin: admin === true, ...(Object.keys(limits).length ? { limits } : {}) });
  });
  return out;
}

function isHttpUrl(raw: string): boolean {
  try {
    const u = new URL(raw);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

function isCorsEntry(o: string): boolean {
  if (o === '*') return true;
  const m = /^(?:(https?):\/\/)?(\*\.)?([a-z0-9.-]+|\[[0-9a-f:.]+\])(?::(\d{1,5}))?$/i.exec(o);
  // Exact origins need their scheme; patterns may leave it out (https then).
  return m !== null && (m[1] !== undefined || m[2] !== undefined);
}

/** Loopback names, and the listen address (every local address when it listens on all of them). */
function defaultAllowedHosts(host: string): string[] {
  const hosts = new Set(['localhost', '127.0.0.1', '::1']);
  if (host === '0.0.0.0' || host === '::') {
    for (const addrs of Object.values(networkInterfaces())) for (const a of addrs ?? []) hosts.add(a.address.toLowerCase());
    hosts.add(hostname().toLowerCase());
  } else {
    hosts.add(host.toLowerCase());
  }
  return [...hosts];
}

function isAllowEntry(entry: string): boolean {
  const [addr, prefix, ...rest] = entry.split('/');
  if (prefix !== undefined) {
    const max = isIP(addr) === 4 ? 32 : isIP(addr) === 6 ? 128 : 0;
    return rest.length === 0 && max > 0 && /^\d+$/.test(prefix) && Number(prefix) <= max;
  }
  return isIP(entry.replace(/^\[(.*)\]$/, '$1')) !== 0 || /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(entry);
}

/** `whsec_` + base64 of 24..64 bytes, as Standard Webhooks libraries take it. */
function isWebhookSecret(secret: string): boolean {
  const m = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(secret);
  if (!m) return false;
  const bytes = Buffer.from(m[1], 'base64');
  return bytes.length >= 24 && bytes.length <= 64 && bytes.toString('base64').replace(/=+$/, '') === m[1].replace(/=+$/, '');
}

/** Hides a password in a connection URL before it is logged. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:***@');
}

/** OpenTelemetry's standard sampler names (`OTEL_TRACES_SAMPLER`). */
export const TRACES_SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const;
export type TracesSampler = (typeof TRACES_SAMPLERS)[number];
