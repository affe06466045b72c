/**
 * Who a Switchboard process is, as the other components see it: one name per deployable,
 * carried in its certificate as the URI SAN `spiffe://switchboard/<component>`.
 */

/** The deployables that call or serve gRPC; each has a certificate of its own. */
export const COMPONENTS = ["gateway", "posts", "accounts", "presence"] as const;
export type Component = (typeof COMPONENTS)[number];

/** The SPIFFE trust domain of every Switchboard identity. */
export const TRUST_DOMAIN = "switchboard";

const PREFIX = `spiffe://${TRUST_DOMAIN}/`;

export function isComponent(name: string): name is Component {
  return (COMPONENTS as readonly string[]).includes(name);
}

/** The SPIFFE id of a component (or of any workload name, for tests of strangers). */
export function spiffeId(name: string): string {
  return `${PREFIX}${name}`;
}

/**
 * The workload named by the first `URI:spiffe://switchboard/<name>` entry of a certificate's
 * subjectAltName as Node prints it (`tls.PeerCertificate.subjectaltname`, entries separated by
 * ", "); undefined when there is none. The name may be one no component has: the allowlists
 * decide what a name may call.
 */
export function workloadOfSubjectAltName(subjectaltname: string | undefined): string | undefined {
  if (subjectaltname === undefined) return undefined;
  for (const entry of subjectaltname.split(", ")) {
    if (!entry.startsWith("URI:")) continue;
    const uri = entry.slice(4);
    if (!uri.startsWith(PREFIX)) continue;
    const name = uri.slice(PREFIX.length);
    if (/^[a-z][a-z0-9-]{0,62}$/.test(name)) return name;
  }
  return undefined;
}
