/**
 * make k8s-smoke: k8s/overlays/local, rendered with `kubectl kustomize`, runs under
 * `podman kube play --network host` with the images `make images` built, against a
 * nats-server of the test (with the overlay's own generated NATS users) and a PostgreSQL
 * database of its own. The rendered manifests are kept as rendered except for env values:
 * the NATS URL and DATABASE_URL (two ConfigMap values) and every port (each fixed port of
 * the render mapped to a free one, in the `*_PORT` values and the `127.0.0.1:<port>`
 * addresses that name it). Then: the securityContext is honoured (non-root, no
 * capabilities, a read-only root with a writable emptyDir /tmp), the stock
 * @mattermost/client logs in, posts and receives `posted` over the WebSocket, and
 * `podman kube down` stops every container with exit code 0 within its grace period, the
 * gateway after its drain.
 */
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments, stringify } from "yaml";
import { loadOrCreateNatsUsers } from "@switchboard/bus";
import {
  createTestDatabase,
  freePort,
  newClient4,
  newWebSocketClient,
  repoRoot,
  startNatsServer,
  waitFor,
  type Client4,
  type DeployableName,
  type NatsServer,
  type TestDatabase,
  type WebSocketClient,
} from "@switchboard/testkit";

const root = repoRoot();
const overlay = join(root, "k8s/overlays/local");
const secrets = join(overlay, "secrets");
const builtFile = join(root, ".tmp/images/built.json");
if (!existsSync(builtFile)) throw new Error(`${builtFile} is missing: make k8s-smoke builds the images first`);
const built = JSON.parse(readFileSync(builtFile, "utf8")) as Record<DeployableName, { image: string }>;
const podmanEnv = {
  ...process.env,
  CONTAINERS_CONF: join(root, ".tmp/containers/containers.conf"),
  CONTAINERS_STORAGE_CONF: join(root, ".tmp/containers/storage.conf"),
};
const podman = (...args: string[]): string => execFileSync("podman", args, { env: podmanEnv, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
const manifestFile = join(root, ".tmp/k8s-smoke/local.yaml");
const COMPONENTS = ["accounts", "posts", "presence", "gateway"] as const;

interface EnvVar {
  name: string;
  value?: string;
}
interface Container {
  name: string;
  image: string;
  env?: EnvVar[];
}
interface K8sObject {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  spec?: { template: { spec: { terminationGracePeriodSeconds?: number; containers: Container[] } } };
}

let nats: NatsServer;
let db: TestDatabase;
let objects: K8sObject[];
/** Each fixed port of the render and the free port the test gave it. */
const ports = new Map<string, string>();
const ctrIds: Record<string, string> = {};
let gatewayUrl = "";
let gatewayOps = "";
let played = false;

const deployments = (): K8sObject[] => objects.filter((o) => o.kind === "Deployment");
const envOf = (name: string): EnvVar[] => deployments().find((d) => d.metadata.name === name)!.spec!.template.spec.containers[0]!.env ?? [];
const envValue = (name: string, key: string): string => envOf(name).find((e) => e.name === key)!.value!;

/** Renders the overlay and patches env values only: the NATS URL, DATABASE_URL and ports. */
async function renderPatched(): Promise<K8sObject[]> {
  const text = execFileSync("kubectl", ["kustomize", overlay], { encoding: "utf8" });
  const docs = parseAllDocuments(text).map((d) => d.toJSON() as K8sObject);
  for (const o of docs) {
    if (o.kind === "ConfigMap" && o.metadata.name === "switchboard-common") o.data!.SB_NATS_URL = nats.url;
    if (o.kind === "ConfigMap" && o.metadata.name === "switchboard-database") o.data!.DATABASE_URL = db.url;
  }
  const envs = docs.filter((o) => o.kind === "Deployment").flatMap((d) => d.spec!.template.spec.containers.flatMap((c) => c.env ?? []));
  for (const e of envs) if (e.name.endsWith("_PORT") && e.value && e.value !== "0" && !ports.has(e.value)) ports.set(e.value, String(await freePort()));
  for (const e of envs) {
    if (e.value === undefined) continue;
    const port = e.name.endsWith("_PORT") ? ports.get(e.value) : undefined;
    if (port) e.value = port;
    const addr = /^127\.0\.0\.1:(\d+)$/.exec(e.value);
    if (addr) {
      const to = ports.get(addr[1]!);
      if (!to) throw new Error(`${e.name}=${e.value} names a port no process of the render listens on`);
      e.value = `127.0.0.1:${to}`;
    }
  }
  return docs;
}

/** The container kube play made for a one-replica Deployment: its id. */
const containerOf = (deployment: string): string => podman("inspect", "--format", "{{.Id}}", `${deployment}-pod-0-${deployment}`);

/**
 * podman kube play (4.3) makes a named volume per ConfigMap volume and per emptyDir (by its
 * volume name), fills it once and keeps it after kube down: removed, so no run sees another's.
 */
function removeVolumes(): void {
  const names = new Set<string>();
  for (const d of deployments()) {
    for (const v of (d.spec!.template.spec as { volumes?: { name: string; configMap?: { name: string }; emptyDir?: object }[] }).volumes ?? []) {
      if (v.configMap) names.add(v.configMap.name);
      if (v.emptyDir) names.add(v.name);
    }
  }
  for (const n of names) {
    try {
      podman("volume", "rm", "--force", n);
    } catch {
      // not there
    }
  }
}

function kubeDown(): void {
  try {
    podman("kube", "down", manifestFile);
  } catch {
    // nothing of it was running
  }
  removeVolumes();
}

beforeAll(async () => {
  execFileSync("node", [join(root, "scripts/k8s-check/dev-secrets.mjs"), secrets, "127.0.0.1"]);
  // The overlay's own NATS users (its ConfigMap switchboard-nats-users holds their passwords).
  nats = await startNatsServer({ users: loadOrCreateNatsUsers(join(secrets, "nats")).users });
  db = await createTestDatabase("sb_k8s_smoke");
  objects = await renderPatched();
  // The overlay names its images localhost/switchboard-<name>:<its tag>: those built now, under that tag too.
  for (const d of deployments()) {
    const c = d.spec!.template.spec.containers[0]!;
    podman("tag", built[c.name as DeployableName].image, c.image);
  }
  mkdirSync(join(root, ".tmp/k8s-smoke"), { recursive: true });
  kubeDown(); // what an interrupted run left
  writeFileSync(manifestFile, objects.map((o) => stringify(o)).join("---\n"));
  podman("kube", "play", "--network", "host", manifestFile);
  played = true;
  for (const c of COMPONENTS) ctrIds[c] = containerOf(c);
  gatewayUrl = `http://127.0.0.1:${envValue("gateway", "SB_GATEWAY_LISTEN_PORT")}`;
  gatewayOps = `http://127.0.0.1:${envValue("gateway", "SB_GATEWAY_OPS_PORT")}`;
  const tail = (): string => COMPONENTS.map((c) => `${c}:\n${podman("logs", "--tail", "5", ctrIds[c]!)}`).join("\n");
  await waitFor(
    async () => {
      for (const c of COMPONENTS) {
        const state = podman("inspect", "--format", "{{.State.Status}}", ctrIds[c]!);
        if (state !== "running") throw new Error(`${c} is ${state}: ${podman("logs", "--tail", "20", ctrIds[c]!)}`);
      }
      return (await fetch(`${gatewayOps}/readyz`).catch(() => undefined))?.status === 200;
    },
    { timeoutMs: 60_000, what: "the gateway's /readyz under podman kube play" },
  ).catch(async (e: unknown) => {
    const body = await (await fetch(`${gatewayOps}/readyz`).catch(() => undefined))?.text();
    throw new Error(`${String(e)}\n/readyz: ${String(body)}\nnats-server: ${nats.violations().slice(-4).join("\n")}\n${tail()}`, { cause: e });
  });
}, 120_000);

afterAll(async () => {
  if (played) kubeDown();
  await db?.drop();
  await nats?.stop();
}, 90_000);

describe("overlays/local under podman kube play", () => {
  it("runs every deployable non-root, without capabilities, on a read-only root with a writable emptyDir /tmp", () => {
    for (const c of COMPONENTS) {
      const pid = podman("inspect", "--format", "{{.State.Pid}}", ctrIds[c]!);
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      expect(Number(/^Uid:\s+(\d+)/m.exec(status)![1]), c).toBeGreaterThan(0);
      expect(/^CapEff:\s+(\w+)/m.exec(status)![1], c).toBe("0000000000000000");
      expect(readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0], c).toBe("node");
      const probe = `const fs = require("node:fs");
        const w = (p) => { try { fs.writeFileSync(p, "x"); fs.rmSync(p); return "ok"; } catch (e) { return e.code; } };
        console.log(JSON.stringify({ tmp: w("/tmp/k8s-smoke"), root: w("/k8s-smoke"), app: w("/app/k8s-smoke") }));`;
      const wrote = JSON.parse(podman("exec", ctrIds[c]!, "node", "-e", probe)) as Record<string, string>;
      expect(wrote, c).toEqual({ tmp: "ok", root: "EROFS", app: "EROFS" });
      const mounts = JSON.parse(podman("inspect", "--format", "{{json .Mounts}}", ctrIds[c]!)) as { Destination: string; Type: string }[];
      expect(mounts.find((m) => m.Destination === "/tmp")?.Type, c).toBe("volume");
    }
  });

  let ws: WebSocketClient | undefined;
  it("serves the stock @mattermost/client: log in, post, and the posted event arrives over the WebSocket", async () => {
    const username = `smoke${randomBytes(4).toString("hex")}`;
    await newClient4(gatewayUrl).createUser({ username, email: `${username}@example.com`, password: "password-1" } as never, "", "");
    const client: Client4 = newClient4(gatewayUrl);
    const me = await client.login(username, "password-1");
    expect(me.username).toBe(username);
    const team = await client.createTeam({ name: `team${randomBytes(4).toString("hex")}`, display_name: "T", type: "O" } as never);
    const ch = await client.createChannel({ team_id: team.id, name: `c${randomBytes(4).toString("hex")}`, display_name: "C", type: "O" } as never);
    const events: { event?: string; data?: Record<string, unknown> }[] = [];
    ws = newWebSocketClient({ headers: { Authorization: `Bearer ${client.getToken()}` } });
    ws.addMessageListener((m) => events.push(m as (typeof events)[number]));
    ws.initialize(`${gatewayUrl.replace(/^http/, "ws")}/api/v4/websocket`, undefined, true);
    await waitFor(() => events.some((e) => e.event === "hello"), { timeoutMs: 15_000, what: "hello" });
    const post = await client.createPost({ channel_id: ch.id, message: "from the local overlay" });
    const got = await waitFor(() => events.find((e) => e.event === "posted" && (JSON.parse(String(e.data?.post)) as { id: string }).id === post.id), {
      timeoutMs: 15_000,
      what: "the posted event",
    });
    expect((JSON.parse(String(got.data!.post)) as { message: string }).message).toBe("from the local overlay");
  });

  it("stops on podman kube down: every container exits 0 within its grace period, the gateway after its drain", async () => {
    const grace = Object.fromEntries(deployments().map((d) => [d.metadata.name, d.spec!.template.spec.terminationGracePeriodSeconds!]));
    // podman kube play (4.3) does not carry terminationGracePeriodSeconds over, and its kube down
    // kills at once (exit 137). So each pod is stopped first as the kubelet would, SIGTERM and
    // SIGKILL after the manifest's grace period, all at once; kube down then removes them.
    const stop = (c: string): Promise<void> =>
      new Promise((resolve, reject) => {
        const p = spawn("podman", ["pod", "stop", "--time", String(grace[c]), `${c}-pod-0`], { env: podmanEnv, stdio: "ignore" });
        p.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`podman pod stop ${c}-pod-0: ${String(code)}`))));
      });
    const t0 = Date.now();
    await Promise.all(COMPONENTS.map(stop));
    const downMs = Date.now() - t0;
    // Each container's log since it started (the pods are stopped, not yet removed).
    const logs = Object.fromEntries(COMPONENTS.map((c) => [c, podman("logs", ctrIds[c]!).split("\n").filter(Boolean)]));
    ws?.close();
    // Each container's exit code and time, from podman inspect (before kube down removes them).
    const exits: Record<string, [number, number]> = {};
    for (const c of COMPONENTS) {
      const [code, finished] = podman(
        "inspect",
        "--format",
        '{{.State.ExitCode}} {{.State.FinishedAt.Format "2006-01-02T15:04:05.000Z07:00"}}',
        ctrIds[c]!,
      ).split(" ");
      exits[c] = [Number(code), new Date(finished!).getTime() - t0];
      expect(exits[c][0], `${c} exit code; its log:\n${logs[c]!.join("\n")}`).toBe(0);
      expect(exits[c][1], `${c} stopped within its grace period`).toBeLessThan(grace[c]! * 1000);
    }
    const gatewayLog = logs.gateway!;
    const msgs = gatewayLog.map((l) => (JSON.parse(l) as { msg?: string }).msg).filter(Boolean);
    const order = ["shutting down", "draining: closing sockets"].map((m) => msgs.indexOf(m));
    expect(
      order.every((i) => i >= 0),
      gatewayLog.join("\n"),
    ).toBe(true);
    expect(order[0]).toBeLessThan(order[1]!);
    podman("kube", "down", manifestFile);
    played = false;
    removeVolumes();
    console.info(
      `the pods stopped in ${String(downMs)} ms (exit code, ms after SIGTERM: ${JSON.stringify(exits)}); gateway log: ${msgs.slice(order[0]).join(" | ")}`,
    );
  });
});
