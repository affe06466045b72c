/**
 * HAProxy (Debian's haproxy) as the cluster's ingress: its configuration generated from the
 * topology, the process, and its runtime API (the admin stats socket), through which gateways
 * are put into and taken out of a fixed set of server-template slots while it runs.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "../wait.js";
import type { Topology } from "./topology.js";

/** The backend and the server-template prefix: slot i (0-based) is gateways/gw<i+1>. */
const BACKEND = "gateways";
const SLOT_PREFIX = "gw";
const slotName = (i: number): string => `${SLOT_PREFIX}${i + 1}`;

/** A gRPC service's replicas behind one HAProxy port (as a Kubernetes Service's ClusterIP). */
export interface ServiceFrontend {
  readonly name: string;
  readonly port: number;
  readonly replicas: readonly { readonly grpcPort: number; readonly opsPort: number }[];
}

export interface HaproxyConfigInput {
  readonly topology: Topology;
  readonly services?: readonly ServiceFrontend[];
  /** The ingress port actually bound (the topology's, or a free one). */
  readonly port: number;
  readonly statsSocket: string;
}

/** The configuration file, every figure from the topology (why each one is there, in comments). */
export function haproxyConfig(c: HaproxyConfigInput): string {
  const t = c.topology;
  const h = t.haproxy;
  return `# Generated from packages/testkit/src/cluster/topology.ts: edit that, not this.
global
    # Two descriptors per proxied connection (client and server side): with ${h.fdLimit} open
    # files, (${h.fdLimit} - 200 reserved) / 2 = ${h.maxconn} connections.
    maxconn ${h.maxconn}
    # The runtime API: gateways are set into server-template slots while HAProxy runs.
    stats socket ${c.statsSocket} mode 600 level admin
    log stdout format raw local0 notice
    hard-stop-after 5s

defaults
    mode http
    log global
    option dontlognull
    # A gateway killed between two checks refuses connections, or closes a reused one without
    # answering: the request goes to another gateway instead of failing the client (an upgrade
    # or a request the dead one never answered; posts are idempotent by pending_post_id).
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response
    timeout connect ${h.connectTimeoutMs}ms
    # Longer than the gateways' ping interval (${t.gateway.idleTimeoutS / 2} s) and idle limit
    # (${t.gateway.idleTimeoutS} s): the gateway, not HAProxy, decides a silent socket is dead.
    timeout client ${h.clientTimeoutMs}ms
    timeout server ${h.serverTimeoutMs}ms
    timeout tunnel ${h.tunnelTimeoutMs}ms
    timeout client-fin 5s
    timeout server-fin 5s
    timeout http-request 10s
    timeout http-keep-alive 10s
    timeout check ${h.checkTimeoutMs}ms

frontend ingress
    bind ${t.ingress.host}:${c.port}
    maxconn ${h.maxconn}
    # The client's address reaches the gateways in X-Forwarded-For, which they trust from this
    # proxy only; whatever a client sent itself is dropped first, so it cannot be forged.
    http-request del-header X-Forwarded-For
    option forwardfor
    default_backend ${BACKEND}

backend ${BACKEND}
    # WebSockets live long: new ones go to the gateway holding the fewest.
    balance leastconn
    # Each gateway's /readyz on its ops port (set per slot with check-port). A SIGTERMed gateway
    # answers 503 at once and keeps accepting for ${t.gateway.preStopDelayMs} ms; HAProxy marks it down
    # within ${h.checkInterMs} ms x ${h.fall} + ${h.checkTimeoutMs} ms = ${h.checkInterMs * h.fall + h.checkTimeoutMs} ms, before that delay ends.
    option httpchk
    http-check send meth GET uri /readyz
    http-check expect status 200
    default-server check inter ${h.checkInterMs}ms fall ${h.fall} rise ${h.rise}
    # ${t.gatewaySlots} slots, all in maintenance until the launcher fills one (runtime API).
    server-template ${SLOT_PREFIX} 1-${t.gatewaySlots} 127.0.0.1:9 disabled
${(c.services ?? []).map((s) => serviceSection(t, s)).join("")}`;
}

/**
 * Layer 4, like a ClusterIP: each gRPC (HTTP/2) connection goes to one ready replica and stays
 * there; when that replica dies the client reconnects and lands on another.
 */
function serviceSection(t: Topology, s: ServiceFrontend): string {
  const h = t.haproxy;
  return `
listen ${s.name}
    mode tcp
    bind 127.0.0.1:${s.port}
    balance leastconn
    option httpchk
    http-check send meth GET uri /readyz
    http-check expect status 200
    default-server check inter ${h.checkInterMs}ms fall ${h.fall} rise ${h.rise}
${s.replicas.map((r, i) => `    server ${s.name}-${i} 127.0.0.1:${r.grpcPort} port ${r.opsPort}\n`).join("")}`;
}

function haproxyBinary(): string {
  const fromEnv = process.env.HAPROXY_BIN;
  if (fromEnv) return fromEnv;
  const which = spawnSync("sh", ["-c", "command -v haproxy"], { encoding: "utf8" });
  if (which.status === 0 && which.stdout.trim()) return which.stdout.trim();
  if (existsSync("/usr/sbin/haproxy")) return "/usr/sbin/haproxy";
  throw new Error("haproxy not found: install it (apt-get install haproxy) or set HAPROXY_BIN; `make cluster` and `make test` do this");
}

/** One command on the runtime API; the answer as text. */
function haproxyCommand(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(socket);
    let out = "";
    s.setTimeout(5_000, () => s.destroy(new Error(`haproxy runtime API: no answer to ${command}`)));
    s.on("connect", () => s.end(`${command}\n`));
    s.on("data", (d: Buffer) => (out += d.toString()));
    s.on("error", reject);
    s.on("close", () => resolve(out));
  });
}

export interface SlotState {
  readonly slot: number;
  /** HAProxy's status column: "UP", "DOWN", "MAINT", "UP 1/2" (rising), "DOWN 1/2" (falling)... */
  readonly status: string;
  readonly addr: string;
  /** Sessions open to this server now. */
  readonly sessions: number;
  /** Sessions this server got in total. */
  readonly total: number;
}

export interface Haproxy {
  readonly port: number;
  readonly url: string;
  readonly configFile: string;
  readonly statsSocket: string;
  readonly pid: number | undefined;
  /** Output lines (its log goes to stdout). */
  readonly output: readonly string[];
  command(cmd: string): Promise<string>;
  /** Points a slot at a gateway (its listen port, and its ops port for /readyz) and enables it. */
  fillSlot(slot: number, o: { port: number; checkPort: number }): Promise<void>;
  /** Puts a slot into maintenance: no new connections, none checked. */
  emptySlot(slot: number): Promise<void>;
  slots(): Promise<SlotState[]>;
  /** Each replica behind a service's port, in order: status ("UP", "DOWN"...) and connections open to it. */
  serviceState(name: string): Promise<{ status: string; sessions: number }[]>;
  /** Waits until the slot's status starts with `status` ("UP", "DOWN", "MAINT"). */
  waitSlot(slot: number, status: string, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** The runtime API refuses with a message instead of an error: anything but an empty answer is one. */
async function expectQuiet(socket: string, cmd: string): Promise<void> {
  const out = (await haproxyCommand(socket, cmd)).trim();
  if (out !== "") throw new Error(`haproxy refused "${cmd}": ${out}`);
}

export async function startHaproxy(o: {
  topology: Topology;
  port: number;
  services?: readonly ServiceFrontend[];
  onLine?: (line: string) => void;
}): Promise<Haproxy> {
  const dir = mkdtempSync(join(tmpdir(), "sb-haproxy-"));
  const statsSocket = join(dir, "admin.sock");
  const configFile = join(dir, "haproxy.cfg");
  writeFileSync(configFile, haproxyConfig({ topology: o.topology, port: o.port, statsSocket, ...(o.services ? { services: o.services } : {}) }));
  const check = spawnSync(haproxyBinary(), ["-c", "-q", "-f", configFile], { encoding: "utf8" });
  if (check.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`haproxy refused the generated configuration: ${check.stderr}${check.stdout}`);
  }
  // -db: stay in the foreground, so the process is ours to signal.
  const child: ChildProcess = spawn(haproxyBinary(), ["-db", "-f", configFile], { stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  const take = (d: Buffer): void => {
    for (const line of d.toString().split("\n")) {
      if (!line) continue;
      output.push(line);
      if (output.length > 2_000) output.shift();
      o.onLine?.(line);
    }
  };
  child.stdout!.on("data", take);
  child.stderr!.on("data", take);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  /** `show stat` as rows of named columns. */
  const stat = async (): Promise<Record<string, string>[]> => {
    const [head = "", ...rows] = (await haproxyCommand(statsSocket, "show stat")).split("\n").filter((l) => l.trim() !== "");
    const header = head.replace(/^# /, "").split(",");
    return rows.map((r) => {
      const f = r.split(",");
      return Object.fromEntries(header.map((h, i) => [h, f[i] ?? ""]));
    });
  };
  const slotPattern = new RegExp(`^${SLOT_PREFIX}(\\d+)$`);
  const slots = async (): Promise<SlotState[]> => {
    const out: SlotState[] = [];
    for (const r of await stat()) {
      const m = slotPattern.exec(r.svname ?? "");
      if (r.pxname !== BACKEND || !m) continue;
      out.push({ slot: Number(m[1]) - 1, status: r.status ?? "", addr: r.addr ?? "", sessions: Number(r.scur ?? 0), total: Number(r.stot ?? 0) });
    }
    return out;
  };

  try {
    // An exit (a port taken, say) fails at once, with HAProxy's own words.
    const died = exited.then(() => {
      throw new Error(`haproxy exited: ${output.filter((l) => l.includes("ALERT")).join("\n") || output.slice(-10).join("\n")}`);
    });
    died.catch(() => undefined);
    const answering = waitFor(async () => (await haproxyCommand(statsSocket, "show info")).includes("Pid:"), {
      timeoutMs: 10_000,
      what: "haproxy's runtime API",
    });
    answering.catch(() => undefined); // the loser of the race below settles unobserved
    await Promise.race([died, answering]);
  } catch (e: unknown) {
    await stop();
    throw e;
  }
  const server = (slot: number): string => `${BACKEND}/${slotName(slot)}`;
  const h: Haproxy = {
    port: o.port,
    url: `http://${o.topology.ingress.host}:${o.port}`,
    configFile,
    statsSocket,
    get pid() {
      return child.pid;
    },
    output,
    command: (cmd) => haproxyCommand(statsSocket, cmd),
    async fillSlot(slot, s) {
      const name = server(slot);
      // addr/port answers with a description of the change, not an empty line.
      const moved = await haproxyCommand(statsSocket, `set server ${name} addr 127.0.0.1 port ${s.port}`);
      if (!/changed|no need to change/i.test(moved)) throw new Error(`haproxy refused to move ${name}: ${moved.trim()}`);
      await expectQuiet(statsSocket, `set server ${name} check-port ${s.checkPort}`);
      await expectQuiet(statsSocket, `enable server ${name}`);
    },
    async emptySlot(slot) {
      await expectQuiet(statsSocket, `disable server ${server(slot)}`);
    },
    slots,
    async serviceState(name) {
      return (await stat())
        .filter((r) => r.pxname === name && r.svname?.startsWith(`${name}-`))
        .map((r) => ({ status: r.status ?? "", sessions: Number(r.scur ?? 0) }));
    },
    async waitSlot(slot, status, timeoutMs = 15_000) {
      await waitFor(async () => (await slots()).find((s) => s.slot === slot)?.status.startsWith(status), {
        timeoutMs,
        intervalMs: 50,
        what: `haproxy to mark ${server(slot)} ${status}`,
      });
    },
    stop,
  };
  return h;
}
