/** Completion webhooks: every rule once — the URL's SSRF check, what is delivered when, signing, retries, claims. */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { Logger } from 'pino';
import { Webhook } from 'standardwebhooks';
import type { RunStatus } from '../../contracts/common.js';
import type { RunWebhook } from '../../contracts/runs.js';
import type { WebhookConfig } from '../config.js';
import { AppError } from '../errors.js';
import { newId } from '../ids.js';
import { AddressPolicy } from '../runtime/tools/address-policy.js';
import { guardedLookup, type Resolver } from '../runtime/tools/http-fetch.js';
import { ACTIVE_STATUSES } from '../store/runs.js';
import type { Store } from '../store/store.js';
import type { DeliveryRecord } from '../store/webhooks.js';
import { toRun } from './run-view.js';

/** Retries never wait longer than this. */
const MAX_BACKOFF_MS = 600_000;
/** Deliveries claimed per round and instance. */
const BATCH = 10;
/** Subscriptions looked at per sweep. */
const SWEEP = 100;
/** Receiver answers kept in `last_error` are cut here. */
const ERROR_CHARS = 300;

export interface WebhookServiceOptions {
  store: Store;
  config: WebhookConfig;
  /** The `http_fetch` allow list (AGENTSDK_FETCH_ALLOW): private addresses a webhook may reach. */
  allow: string[];
  logger: Logger;
  instanceId: string;
  /** Name resolution (default `dns.lookup`). */
  resolve?: Resolver;
}

type Outcome = { state: 'delivered' | 'failed' | 'pending'; status: number | null; error: string | null; retryInMs?: number };

/**
 * A run started with `webhook` gets a subscription. Whenever the run reaches a final status (or
 * `waiting`), one delivery per status is stored — in the database, before anything is sent — by
 * whichever instance sees it first (the run's own at its end; any instance's sweep otherwise, e.g.
 * after recovery). Deliveries are claimed with a lease in SQL, so one instance at a time sends
 * each; a lease that runs out (the sender died) makes it due again, and a restart finds it stored.
 * Each attempt is signed per Standard Webhooks; 5xx, 408, 429, timeouts and network errors are
 * retried with doubling delays up to `maxAttempts`; any other answer ends it.
 */
export class WebhookService {
  private readonly policy: AddressPolicy;
  private readonly lookup: LookupFunction;
  private readonly resolve: Resolver;
  private readonly signer: Webhook | undefined;
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | null = null;
  private again = false;
  private stopped = true;
  private readonly sending = new Set<Promise<void>>();

  constructor(private readonly opts: WebhookServiceOptions) {
    this.policy = new AddressPolicy(opts.allow);
    this.resolve = opts.resolve ?? (dnsLookup as unknown as Resolver);
    this.lookup = guardedLookup(this.policy, this.resolve);
    this.signer = opts.config.secret ? new Webhook(opts.config.secret) : undefined;
  }

  /** Starts looking for due deliveries (also those a previous process or another instance left). */
  start(): void {
    // Without a secret no webhook can be subscribed (or signed): no sweep every poll, no query at every run's end.
    if (!this.signer) return;
    this.stopped = false;
    this.timer = setInterval(() => this.kick(), this.opts.config.pollMs);
    this.timer.unref();
    this.kick();
  }

  /**
   * Stops sending: attempts in flight finish, nothing new is claimed. Deliveries stored from now
   * on (runs ending during shutdown) are sent by another instance or after the next start.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.round;
    await Promise.all([...this.sending]);
  }

  /**
   * 400 unless the URL may receive webhooks: http(s), a host that resolves, and every address
   * public or allow-listed (the `http_fetch` guard; checked again on every attempt).
   */
  async check(raw: string): Promise<string> {
    const refuse = (why: string) => new AppError('bad_request', `webhook refused: ${why}`, { issues: [{ path: ['webhook'], message: why }] });
    if (!this.signer) throw refuse('this server has no AGENTSDK_WEBHOOK_SECRET, so it cannot sign deliveries');
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw refuse('not a URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw refuse('only http and https URLs');
    if (url.username || url.password) throw refuse('credentials in the URL are not accepted');
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    let addresses: string[];
    if (isIP(host)) addresses = [host];
    else {
      addresses = await new Promise<string[]>((resolve) =>
        this.resolve(host, { all: true, family: 0 }, (err, list: LookupAddress[]) => resolve(err || !list?.length ? [] : list.map((a) => a.address))),
      );
      if (addresses.length === 0) throw refuse(`${host} does not resolve`);
    }
    try {
      for (const a of addresses) this.policy.check(host, a);
    } catch (err) {
      throw refuse((err as Error).message);
    }
    return url.href;
  }

  /** The run gets a webhook; a run that has already ended gets its delivery now. */
  async subscribe(runId: string, url: string): Promise<void> {
    await this.opts.store.webhooks.subscribe(runId, url);
    await this.settle(runId);
  }

  /** A stretch of the run ended (its end is stored): its delivery, stored and sent. */
  async onEnded(runId: string, _status: RunStatus): Promise<void> {
    if (this.signer) await this.settle(runId);
  }

  /** The webhook and its deliveries as `GET /v1/runs/{id}` shows them (null: the run has none). */
  async view(runId: string): Promise<RunWebhook | null> {
    const { webhooks } = this.opts.store;
    const sub = await webhooks.subscription(runId);
    if (!sub) return null;
    const deliveries = await webhooks.ofRun(runId);
    return {
      url: sub.url,
      deliveries: deliveries.map((d) => ({
        id: d.id,
        type: d.type,
        state: d.state,
        attempts: d.attempts,
        last_status: d.last_status,
        last_error: d.last_error,
        next_attempt_at: d.state === 'pending' ? d.next_attempt_at : null,
        delivered_at: d.delivered_at,
        created_at: d.created_at,
      })),
    };
  }

  /**
   * Stores a delivery for each open subscription whose run has reached a status it has none for
   * yet (only `runId`'s when given), closes subscriptions of runs that ended for good, sends.
   */
  private async settle(runId?: string, send = true): Promise<void> {
    const { store } = this.opts;
    for (const sub of await store.webhooks.settled(SWEEP, runId)) {
      if (sub.gone) {
        await store.webhooks.record(null, sub.run_id, true);
        continue;
      }
      const run = await store.runs.get(sub.run_id);
      if (!run) continue;
      if (ACTIVE_STATUSES.includes(run.status)) continue;
      const at = run.finished_at ?? run.created_at;
      const type = `run.${run.status}`;
      const { webhook: _none, ...record } = toRun(run);
      const payload = JSON.stringify({ type, timestamp: at, data: record });
      await store.webhooks.record({ id: newId('whd'), runId: run.id, occurrence: `${run.status}@${at}`, url: sub.url, type, payload }, run.id, run.status !== 'waiting');
    }
    if (send) this.kick();
  }

  /** One round now (or right after the one under way): sweep, claim, send. */
  private kick(): void {
    if (this.stopped) return;
    if (this.round) {
      this.again = true;
      return;
    }
    this.round = this.tick()
      .catch((err) => this.opts.logger.warn({ err }, 'webhook round failed'))
      .finally(() => {
        this.round = null;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  private async tick(): Promise<void> {
    // Deliveries whose run ended without this process seeing it (recovery, another instance that died).
    await this.settle(undefined, false);
    if (this.stopped) return;
    const { config, instanceId, store } = this.opts;
    // The lease outlasts one attempt, so a live sender is never raced by another instance.
    const claimed = await store.webhooks.claimDue(instanceId, config.timeoutMs + 5_000, BATCH);
    for (const d of claimed) {
      const p = this.deliver(d).finally(() => this.sending.delete(p));
      this.sending.add(p);
    }
  }

  private async deliver(d: DeliveryRecord): Promise<void> {
    const { config, instanceId, store, logger } = this.opts;
    let outcome: Outcome;
    try {
      const status = await this.post(d);
      if (status >= 200 && status < 300) outcome = { state: 'delivered', status, error: null };
      else if (status >= 500 || status === 408 || status === 429) outcome = this.retry(d, status, `HTTP ${status}`);
      else outcome = { state: 'failed', status, error: `HTTP ${status}: not retried` };
    } catch (err) {
      const message = String((err as Error)?.message ?? err).slice(0, ERROR_CHARS);
      // The guard refused the address (e.g. the name now resolves to a private one): never retried.
      outcome = message.startsWith('refused:') ? { state: 'failed', status: null, error: message } : this.retry(d, null, message);
    }
    if (outcome.state !== 'delivered') logger.warn({ runId: d.run_id, delivery: d.id, attempt: d.attempts, state: outcome.state, status: outcome.status }, 'webhook delivery attempt failed');
    await store.webhooks.settle(d.id, instanceId, outcome).catch((err) => logger.warn({ err, delivery: d.id }, 'could not store a webhook attempt'));
    if (outcome.state === 'pending' && outcome.retryInMs! < config.pollMs) setTimeout(() => this.kick(), outcome.retryInMs).unref();
  }

  private retry(d: DeliveryRecord, status: number | null, error: string): Outcome {
    const { maxAttempts, retryMs } = this.opts.config;
    if (d.attempts >= maxAttempts) return { state: 'failed', status, error: `${error} (after ${d.attempts} attempts)` };
    return { state: 'pending', status, error, retryInMs: Math.min(MAX_BACKOFF_MS, retryMs * 2 ** (d.attempts - 1)) };
  }

  /** One signed POST; the receiver's status (redirects are not followed). */
  private post(d: DeliveryRecord): Promise<number> {
    const url = new URL(d.url);
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    // An IP literal is never looked up, so it is checked here.
    if (isIP(host)) this.policy.check(host, host);
    const now = new Date();
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'agent-server-webhooks',
      'webhook-id': d.id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': this.signer!.sign(d.id, now, d.payload),
      'content-length': String(Buffer.byteLength(d.payload)),
    };
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(url, { method: 'POST', headers, lookup: this.lookup, agent: false, signal: AbortSignal.timeout(this.opts.config.timeoutMs) }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      });
      req.on('error', (err) => reject(err.name === 'AbortError' || err.name === 'TimeoutError' ? new Error(`no answer within ${this.opts.config.timeoutMs} ms`) : err));
      req.end(d.payload);
    });
  }
}
