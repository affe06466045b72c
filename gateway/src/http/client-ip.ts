/**
 * The client's IP address, as Mattermost's TrustedProxyIPHeader finds it, but trusting the
 * header only from configured proxies: a request whose peer is a trusted proxy (HAProxy) is
 * taken to come from the address that proxy names in the header; any other peer is the client
 * itself, whatever header it sends (a client could write any address there).
 *
 * X-Forwarded-For lists every hop, each proxy appending the address it saw. Read from the right,
 * skipping addresses of trusted proxies, the first other address is the one the nearest
 * trusted proxy saw connect: entries left of it may have been written by the client.
 */
import { BlockList, isIP } from "node:net";

export interface ClientIpPolicy {
  /** Header names in lower case, tried in order (e.g. x-forwarded-for, x-real-ip); empty: none. */
  readonly headers: readonly string[];
  readonly trusted: BlockList;
  /** False when there is no header or no trusted proxy: the peer is always the client. */
  readonly enabled: boolean;
}

/** Builds the policy; a malformed CIDR is an error naming it. */
export function clientIpPolicy(o: { headers: readonly string[]; trustedProxies: readonly string[] }): ClientIpPolicy {
  const trusted = new BlockList();
  for (const entry of o.trustedProxies) {
    const [addr = "", bits] = entry.split("/");
    const family = isIP(addr);
    if (family === 0) throw new Error(`trusted proxy "${entry}" is not an IP address or CIDR range`);
    const type = family === 4 ? "ipv4" : "ipv6";
    if (bits === undefined) {
      trusted.addAddress(addr, type);
      continue;
    }
    const prefix = Number(bits);
    if (!/^\d+$/.test(bits) || prefix > (family === 4 ? 32 : 128)) throw new Error(`trusted proxy "${entry}" has an invalid prefix length`);
    trusted.addSubnet(addr, prefix, type);
  }
  const headers = o.headers.map((h) => h.toLowerCase());
  return { headers, trusted, enabled: headers.length > 0 && o.trustedProxies.length > 0 };
}

/** IPv4 peers of a dual-stack socket appear as ::ffff:a.b.c.d. */
function plain(addr: string): string {
  return addr.startsWith("::ffff:") && isIP(addr.slice(7)) === 4 ? addr.slice(7) : addr;
}

function isTrusted(p: ClientIpPolicy, addr: string): boolean {
  const family = isIP(addr);
  return family !== 0 && p.trusted.check(addr, family === 4 ? "ipv4" : "ipv6");
}

/**
 * The client's address: `peer` (the socket's remote address) unless it is a trusted proxy that
 * sent one of the policy's headers. `header(name)` returns that header's value, every line of it
 * joined with commas ("" when absent).
 */
export function clientIp(p: ClientIpPolicy, peer: string, header: (name: string) => string): string {
  const from = plain(peer);
  if (!p.enabled || !isTrusted(p, from)) return from;
  for (const name of p.headers) {
    const value = header(name);
    if (!value) continue;
    const hops = value.split(",");
    let candidate = from;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = plain(hops[i]!.trim());
      // Garbage in the list: nothing left of it can be believed either.
      if (isIP(hop) === 0) break;
      candidate = hop;
      if (!isTrusted(p, hop)) break;
    }
    return candidate;
  }
  return from;
}
