// Where a webhook may point. A server that posts to any URL an admin types is a way into the network
// it runs in: only https is allowed (plain http to a loopback address where a setting allows it, for a
// receiver on the same machine), and addresses in private, loopback, link-local and other special
// ranges are refused unless allowed. The check is made on the URL when the endpoint is saved, and on
// every address the name resolves to when a delivery connects (a name may resolve elsewhere later).
import { BlockList, isIP } from "node:net";
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import type { LookupFunction } from "node:net";

export interface TargetPolicy {
  /** http:// and https:// to loopback addresses (127.0.0.0/8, ::1, localhost) allowed. */
  readonly allowLoopback: boolean;
  /** Private and other special-purpose ranges allowed (an internal receiver). */
  readonly allowPrivate: boolean;
}

/** This host: loopback, and the unspecified addresses, which reach it too. */
const loopback = new BlockList();
loopback.addSubnet("127.0.0.0", 8, "ipv4");
loopback.addSubnet("0.0.0.0", 8, "ipv4");
loopback.addAddress("::1", "ipv6");
loopback.addAddress("::", "ipv6");

/** Ranges that are not the public internet (RFC 6890 and friends), loopback aside. */
const special = new BlockList();
for (const [net, prefix] of [
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const)
  special.addSubnet(net, prefix, "ipv4");
// IPv6 forms that carry or reach an IPv4 address (IPv4-compatible, NAT64, 6to4) are refused whole:
// they could reach a private IPv4 network behind a gateway.
for (const [net, prefix] of [
  ["::", 96],
  ["64:ff9b::", 96],
  ["64:ff9b:1::", 48],
  ["2002::", 16],
  ["2001:db8::", 32],
  ["fc00::", 7],
  ["fec0::", 10],
  ["fe80::", 10],
  ["ff00::", 8],
] as const)
  special.addSubnet(net, prefix, "ipv6");

/** The IPv4 address an IPv4-mapped IPv6 address (::ffff:a.b.c.d) stands for, else the address. */
function unmapped(address: string): { address: string; family: "ipv4" | "ipv6" } {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return { address: mapped[1]!, family: "ipv4" };
  return { address, family: isIP(address) === 6 ? "ipv6" : "ipv4" };
}

/** Why an address may not be posted to under the policy; undefined when it may. */
export function refusedAddress(address: string, policy: TargetPolicy): string | undefined {
  const a = unmapped(address);
  if (loopback.check(a.address, a.family))
    return policy.allowLoopback
      ? undefined
      : `${address} is a loopback address (allowed with CLM_WEBHOOKS_ALLOW_LOOPBACK=1)`;
  if (special.check(a.address, a.family))
    return policy.allowPrivate
      ? undefined
      : `${address} is in a private or reserved range (allowed with CLM_WEBHOOKS_ALLOW_PRIVATE=1)`;
  return undefined;
}

const isLoopbackName = (host: string) => host === "localhost" || host.endsWith(".localhost");

/** Why a URL may not be a webhook endpoint; undefined when it may (its name is checked when connecting). */
export function refusedUrl(text: string, policy: TargetPolicy): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "not a URL";
  }
  if (url.username || url.password) return "credentials in the URL are not allowed (put them in a path or query token)";
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const literal = isIP(host) !== 0;
  const local = isLoopbackName(host) || (literal && loopback.check(unmapped(host).address, unmapped(host).family));
  if (url.protocol === "http:") {
    if (!(local && policy.allowLoopback))
      return "must be https (http only to a loopback address, with CLM_WEBHOOKS_ALLOW_LOOPBACK=1)";
  } else if (url.protocol !== "https:") return "must be https";
  if (isLoopbackName(host) && !policy.allowLoopback)
    return `${host} is a loopback name (allowed with CLM_WEBHOOKS_ALLOW_LOOPBACK=1)`;
  return literal ? refusedAddress(host, policy) : undefined;
}

/**
 * A DNS lookup for the delivery's socket that fails when any address the name resolves to is refused:
 * the check is made on what is connected to, not on what the name said when the endpoint was saved.
 */
export function guardedLookup(policy: TargetPolicy): LookupFunction {
  return ((hostname: string, options: object, callback: (...args: unknown[]) => void) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error);
      const list = addresses as LookupAddress[];
      const refused = list.map((a) => refusedAddress(a.address, policy)).find((r) => r !== undefined);
      if (refused) return callback(Object.assign(new Error(`refused target: ${refused}`), { code: "ETARGETREFUSED" }));
      if ((options as { all?: boolean }).all) return callback(null, list);
      return callback(null, list[0]!.address, list[0]!.family);
    });
  }) as LookupFunction;
}
