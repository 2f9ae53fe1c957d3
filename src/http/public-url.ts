import type { Request, RequestHandler } from 'express';
import type { Config } from '../config.js';

/** The host name of a Host header (port and IPv6 brackets removed, lower case); undefined when malformed. */
export function hostnameOf(host: string | undefined): string | undefined {
  if (!host) return undefined;
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?$/.exec(host.trim());
  return m ? m[1].replace(/^\[(.*)\]$/, '$1').toLowerCase() : undefined;
}

/** `name` exact, or `*.domain` for any subdomain of it. */
export function hostAllowed(hostname: string | undefined, allowed: readonly string[]): boolean {
  if (!hostname) return false;
  return allowed.some((a) => (a.startsWith('*.') ? hostname.endsWith(a.slice(1)) && hostname.length > a.length - 1 : a === hostname));
}

/** The address this connection reached, as a URL base: ours, not the client's to choose. */
function listenBaseUrl(req: Request): string {
  const addr = (req.socket.localAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
  return `http://${addr.includes(':') ? `[${addr}]` : addr}:${req.socket.localPort}`;
}

/**
 * The base URL to advertise (A2A cards, links): `AGENTSDK_PUBLIC_URL`, else the request's own
 * Host when it is an allowed host, else the address the connection reached. A forged Host header
 * can thus never make the server hand out a URL pointing elsewhere.
 */
export function publicBaseUrl(req: Request, config: Pick<Config, 'publicUrl' | 'allowedHosts'>): string {
  if (config.publicUrl) return config.publicUrl;
  const host = req.headers.host;
  if (host && hostAllowed(hostnameOf(host), config.allowedHosts)) return `${req.protocol}://${host}`;
  return listenBaseUrl(req);
}

/**
 * Replaces a Host header that is not an allowed host with the address the connection reached,
 * so routes that build URLs from the request (`req.get('host')`) cannot be steered by it.
 */
export function trustedHost(config: Pick<Config, 'publicUrl' | 'allowedHosts'>): RequestHandler {
  return (req, _res, next) => {
    if (!hostAllowed(hostnameOf(req.headers.host), config.allowedHosts)) {
      req.headers.host = config.publicUrl ? new URL(config.publicUrl).host : listenBaseUrl(req).slice('http://'.length);
    }
    next();
  };
}
