/**
 * The one generator of nats-server configuration: `make dev`, `make cluster`, the tests'
 * servers and a deployment's config file all come from here, so the permissions they run
 * with are the same. The output is nats-server's configuration syntax in its JSON form.
 */
import type { NatsUsers } from "./credentials.js";
import { newNatsPassword } from "./credentials.js";
import { natsPermissions, type NatsPermissions, type NatsRole, type PermissionOptions } from "./permissions.js";

export interface NatsTlsFiles {
  /** The CA that signed the peers' certificates. */
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** Require and verify client certificates (mutual TLS). Default false. */
  readonly verify?: boolean;
}

export interface NatsClusterSettings {
  readonly name: string;
  /** host:port of this node's route listener. */
  readonly listen: string;
  /** The other nodes' route addresses, host:port. */
  readonly routes: readonly string[];
  /** Routes authenticate with this user and password (generated with the users). */
  readonly user: string;
  readonly password: string;
  readonly noAdvertise?: boolean;
  /** Routes over TLS (each node verifies the others against the CA). */
  readonly tls?: NatsTlsFiles;
}

export interface NatsServerConfigOptions extends PermissionOptions {
  readonly users: NatsUsers;
  readonly host?: string;
  readonly port?: number;
  readonly serverName?: string;
  /** host:port of the monitoring endpoint. */
  readonly http?: string;
  /** JetStream's store (omit for a server without JetStream). */
  readonly jetstreamStoreDir?: string;
  /** Clients connect over TLS. */
  readonly tls?: NatsTlsFiles;
  readonly cluster?: NatsClusterSettings;
  /**
   * Clients without credentials connect as a user with this role's permissions (and the
   * shared `_INBOX.>`, as a build before authorization uses it) instead of being refused: for
   * a rolling upgrade from such a build only, never in steady state.
   */
  readonly anonymousAs?: NatsRole;
  /** Further settings, as nats-server names them (e.g. `write_deadline: "1s"`). */
  readonly extra?: Readonly<Record<string, unknown>>;
}

/** The user a credential-less client becomes under `anonymousAs`. */
const ANONYMOUS = "anonymous";

function permissionsBlock(p: NatsPermissions): Record<string, unknown> {
  const rules = (r: { allow: readonly string[]; deny?: readonly string[] }) => ({ allow: [...r.allow], ...(r.deny?.length ? { deny: [...r.deny] } : {}) });
  return { publish: rules(p.publish), subscribe: rules(p.subscribe), ...(p.allowResponses ? { allow_responses: true } : {}) };
}

function tlsBlock(t: NatsTlsFiles, verifyDefault: boolean): Record<string, unknown> {
  return { ca_file: t.caFile, cert_file: t.certFile, key_file: t.keyFile, verify: t.verify ?? verifyDefault, timeout: 2 };
}

/** The configuration as an object (what natsServerConfig renders). */
export function natsServerConfigObject(o: NatsServerConfigOptions): Record<string, unknown> {
  const users = Object.values(o.users).map((u) => ({ user: u.user, password: u.password, permissions: permissionsBlock(natsPermissions(u.role, u.user, o)) }));
  if (users.length === 0) throw new Error("a nats-server configuration needs at least one user: anonymous clients are refused");
  if (o.anonymousAs) {
    const p = natsPermissions(o.anonymousAs, ANONYMOUS, o);
    const legacy = { ...p, subscribe: { ...p.subscribe, allow: [...p.subscribe.allow, "_INBOX.>"] } };
    users.push({ user: ANONYMOUS, password: newNatsPassword(), permissions: permissionsBlock(legacy) });
  }
  return {
    ...(o.serverName ? { server_name: o.serverName } : {}),
    ...(o.host ? { host: o.host } : {}),
    ...(o.port !== undefined ? { port: o.port } : {}),
    ...(o.http ? { http: o.http } : {}),
    ...(o.jetstreamStoreDir ? { jetstream: { store_dir: o.jetstreamStoreDir } } : {}),
    authorization: { users },
    ...(o.anonymousAs ? { no_auth_user: ANONYMOUS } : {}),
    ...(o.tls ? { tls: tlsBlock(o.tls, false) } : {}),
    ...(o.cluster
      ? {
          cluster: {
            name: o.cluster.name,
            listen: o.cluster.listen,
            authorization: { user: o.cluster.user, password: o.cluster.password },
            routes: o.cluster.routes.map((r) => `nats-route://${o.cluster!.user}:${o.cluster!.password}@${r}`),
            ...(o.cluster.noAdvertise ? { no_advertise: true } : {}),
            ...(o.cluster.tls ? { tls: tlsBlock(o.cluster.tls, true) } : {}),
          },
        }
      : {}),
    ...o.extra,
  };
}

/** The configuration file's text. */
export function natsServerConfig(o: NatsServerConfigOptions): string {
  return JSON.stringify(natsServerConfigObject(o), null, 2) + "\n";
}
