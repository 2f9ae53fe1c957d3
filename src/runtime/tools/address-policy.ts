import { BlockList, isIP } from 'node:net';

/** Ranges http_fetch never connects to unless allowlisted: loopback, private, link-local (cloud metadata), CGNAT, ULA, multicast, reserved. */
const BLOCKED: Array<[string, number, 'ipv4' | 'ipv6']> = [
  ['0.0.0.0', 8, 'ipv4'],
  ['10.0.0.0', 8, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['127.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.0.0.0', 24, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['198.18.0.0', 15, 'ipv4'],
  ['224.0.0.0', 4, 'ipv4'],
  ['240.0.0.0', 4, 'ipv4'],
  ['::', 128, 'ipv6'],
  ['::1', 128, 'ipv6'],
  ['fc00::', 7, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
  ['fec0::', 10, 'ipv6'],
  ['ff00::', 8, 'ipv6'],
  ['100::', 64, 'ipv6'],
];
const blocked = new BlockList();
for (const [net, prefix, type] of BLOCKED) blocked.addSubnet(net, prefix, type);

/** An IPv4 address hidden in an IPv6 one (mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96), as IPv4. */
function embeddedV4(v6: string): string | undefined {
  const m = /^(?:::ffff:|64:ff9b::)(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i.exec(v6);
  if (!m) return undefined;
  if (m[1]) return m[1];
  const hi = parseInt(m[2], 16);
  const lo = parseInt(m[3], 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** Which hosts and addresses may be reached although private (AGENTSDK_FETCH_ALLOW). */
export class AddressPolicy {
  private readonly allowedAddresses = new BlockList();
  private readonly hosts: string[] = [];

  constructor(allow: string[]) {
    for (const entry of allow) {
      const [addr, prefix] = entry.split('/');
      const bare = addr.replace(/^\[(.*)\]$/, '$1');
      const family = isIP(bare);
      if (family && prefix !== undefined) this.allowedAddresses.addSubnet(bare, Number(prefix), family === 4 ? 'ipv4' : 'ipv6');
      else if (family) this.allowedAddresses.addAddress(bare, family === 4 ? 'ipv4' : 'ipv6');
      else this.hosts.push(entry.toLowerCase());
    }
  }

  /** An allowlisted host name may resolve anywhere (the operator said so). */
  hostAllowed(host: string): boolean {
    const h = host.toLowerCase().replace(/\.$/, '');
    return this.hosts.some((e) => (e.startsWith('*.') ? h.endsWith(e.slice(1)) : h === e));
  }

  /** Throws unless `address` (an IP) is public or allowlisted. */
  check(host: string, address: string): void {
    const family = isIP(address);
    if (!family) throw new Error(`not an IP address: ${address}`);
    if (this.hostAllowed(host)) return;
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (this.allowedAddresses.check(address, type)) return;
    const v4 = family === 6 ? embeddedV4(address) : undefined;
    if (v4 && this.allowedAddresses.check(v4, 'ipv4')) return;
    if (blocked.check(address, type) || (v4 !== undefined && blocked.check(v4, 'ipv4'))) {
      throw new Error(`refused: ${host} resolves to ${address}, a loopback/private/link-local address (allow it with AGENTSDK_FETCH_ALLOW)`);
    }
  }
}
