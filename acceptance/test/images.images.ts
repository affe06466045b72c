/**
 * make images-check: each image `make images` built (.tmp/images/built.json) runs under podman
 * the way a hardened pod runs it — host network, never pulling, a read-only root with a tmpfs
 * /tmp, the image's numeric user, no capabilities, no new privileges — against a real
 * nats-server and PostgreSQL of the test, with its secrets (NATS password, mTLS certificate and
 * key) mounted read-only and readable only by that user. It must answer /healthz on its ops
 * port, run as node (PID 1) with that user and no capabilities, and exit 0 on `podman stop`
 * (SIGTERM) well within its grace period. Started in the order a cluster starts them.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createTestDatabase,
  freePort,
  repoRoot,
  rpcTlsEnv,
  spawnProcess,
  startNatsServer,
  withTestKek,
  type ChildHandle,
  type DeployableName,
  type NatsServer,
  type TestDatabase,
} from "@switchboard/testkit";

/** Presence's KV bucket: a name of this run's own, which the NATS server lets presence use. */
const presenceBucket = `presence_images_${randomBytes(4).toString("hex")}`;
const root = repoRoot();
const builtFile = join(root, ".tmp/images/built.json");
if (!existsSync(builtFile)) throw new Error(`${builtFile} is missing: make images-check builds the images first`);
const built = JSON.parse(readFileSync(builtFile, "utf8")) as Record<DeployableName, { image: string }>;
const podmanEnv = {
  CONTAINERS_CONF: join(root, ".tmp/containers/containers.conf"),
  CONTAINERS_STORAGE_CONF: join(root, ".tmp/containers/storage.conf"),
};
const podman = (...args: string[]): string => execFileSync("podman", args, { env: { ...process.env, ...podmanEnv }, encoding: "utf8" }).trim();
/** podman stop's grace period: SIGKILL (exit 137) after it. */
const GRACE_S = 10;
const SECRETS = "/run/secrets/switchboard";

interface ImageConfig {
  readonly Config: { readonly User: string; readonly Labels: Record<string, string>; readonly Cmd: string[]; readonly Entrypoint: string[] | null };
}

let nats: NatsServer;
let db: TestDatabase;
let secrets: string;
const running: { name: string; handle: ChildHandle }[] = [];

beforeAll(async () => {
  nats = await startNatsServer({ presenceBuckets: [presenceBucket] });
  db = await createTestDatabase();
  secrets = mkdtempSync(join(tmpdir(), "sb-image-secrets-"));
  chmodSync(secrets, 0o755); // the files themselves are the image user's alone
});

afterAll(async () => {
  for (const { name } of running) spawnSafe(() => podman("rm", "--force", "--time", "0", name));
  await db?.drop();
  await nats?.stop();
  if (secrets) rmSync(secrets, { recursive: true, force: true });
});

function spawnSafe(f: () => unknown): void {
  try {
    f();
  } catch {
    // already gone
  }
}

/** The image's user, from its config: numeric uid:gid. */
function imageUser(image: string): { uid: number; gid: number; config: ImageConfig } {
  const [config] = JSON.parse(podman("image", "inspect", image)) as ImageConfig[];
  const m = /^(\d+):(\d+)$/.exec(config!.Config.User);
  if (!m) throw new Error(`${image} runs as "${config!.Config.User}", not a numeric uid:gid`);
  return { uid: Number(m[1]), gid: Number(m[2]), config: config! };
}

/** Each *_FILE of env copied into the secrets dir, owned by the image's user, mode 0400, and named by its path in the container. */
function mountSecrets(env: Record<string, string>, uid: number, gid: number): Record<string, string> {
  const out = { ...env };
  for (const [k, v] of Object.entries(env)) {
    if (!k.endsWith("_FILE")) continue;
    const name = `${k.toLowerCase()}-${basename(v)}`;
    copyFileSync(v, join(secrets, name));
    chownSync(join(secrets, name), uid, gid);
    chmodSync(join(secrets, name), 0o400);
    out[k] = `${SECRETS}/${name}`;
  }
  return out;
}

async function runImage(component: DeployableName, env: Record<string, string>): Promise<{ handle: ChildHandle; name: string; uid: number }> {
  const { image } = built[component];
  const { uid, gid } = imageUser(image);
  const containerEnv = mountSecrets({ ...rpcTlsEnv(component), ...nats.env(component), SB_POD_NAME: `image-${component}`, ...env }, uid, gid);
  const name = `sb-image-check-${component}-${randomBytes(4).toString("hex")}`;
  const handle = await spawnProcess({
    entry: image,
    command: [
      "podman",
      "run",
      "--name",
      name,
      "--network",
      "host",
      "--pull=never",
      "--read-only",
      "--tmpfs",
      "/tmp:rw,size=64m,mode=1777",
      "--user",
      `${uid}:${gid}`,
      "--cap-drop",
      "ALL",
      "--security-opt",
      "no-new-privileges",
      "--volume",
      `${secrets}:${SECRETS}:ro`,
      ...Object.keys(containerEnv).flatMap((k) => ["--env", k]),
      image,
    ],
    env: { ...podmanEnv, ...containerEnv },
    readyTimeoutMs: 30_000,
  });
  running.push({ name, handle });
  return { handle, name, uid };
}

/** The container's main process as the host sees it: user, effective capabilities, command. */
function mainProcess(name: string): { uid: number; capEff: string; cmd: string[] } {
  const pid = podman("inspect", "--format", "{{.State.Pid}}", name);
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return {
    uid: Number(/^Uid:\s+(\d+)/m.exec(status)![1]),
    capEff: /^CapEff:\s+(\w+)/m.exec(status)![1]!,
    cmd: readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean),
  };
}

const addrs: Record<string, string> = {};

describe.each(["accounts", "posts", "presence", "gateway"] as const)("the %s image", (component) => {
  it("is labelled, runs as a numeric non-root user with node in exec form", () => {
    const { uid, config } = imageUser(built[component].image);
    expect(uid).toBeGreaterThan(0);
    const revision = execFileSync("git", ["rev-parse", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
    expect(config.Config.Labels["org.opencontainers.image.revision"]).toBe(revision);
    expect(config.Config.Labels["org.opencontainers.image.version"]).toMatch(/^\d+\.\d+\.\d+-[0-9a-f]{12}/);
    expect(config.Config.Labels["org.opencontainers.image.source"]).toMatch(/^https:\/\//);
    expect(config.Config.Entrypoint ?? []).toEqual([]);
    expect(config.Config.Cmd[0]).toBe("node");
  });

  it("holds production dependencies only, and for the gateway the one uWebSockets.js binary its node loads", () => {
    const probe = `
      const fs = require("node:fs");
      const has = (p) => fs.existsSync("/app/node_modules/" + p);
      const dir = "/app/node_modules/uWebSockets.js/binaries";
      console.log(JSON.stringify({
        dev: ["@switchboard/testkit", "vitest", "typescript", "ws", "@mattermost/client", "@bufbuild/buf"].filter(has),
        uws: fs.existsSync(dir) ? fs.readdirSync(dir) : null,
        abi: "uws_" + process.platform + "_" + process.arch + "_" + process.versions.modules + ".node",
      }));`;
    const found = JSON.parse(podman("run", "--rm", "--pull=never", "--network", "none", built[component].image, "node", "-e", probe)) as {
      dev: string[];
      uws: string[] | null;
      abi: string;
    };
    expect(found.dev).toEqual([]);
    expect(found.uws).toEqual(component === "gateway" ? [found.abi] : null);
  });

  it("answers /healthz read-only and unprivileged, then exits 0 on SIGTERM within its grace period", async () => {
    const prefix = component === "gateway" ? "SB_GATEWAY" : `SB_${component.toUpperCase()}`;
    const opsPort = await freePort();
    const env: Record<string, string> = { [`${prefix}_OPS_PORT`]: String(opsPort) };
    if (component === "gateway") {
      Object.assign(env, {
        SB_GATEWAY_LISTEN_PORT: String(await freePort()),
        SB_GATEWAY_ACCOUNTS_ADDR: addrs.accounts!,
        SB_GATEWAY_POSTS_ADDR: addrs.posts!,
        SB_GATEWAY_PRESENCE_ADDR: addrs.presence!,
      });
    } else {
      addrs[component] = `127.0.0.1:${String(await freePort())}`;
      Object.assign(env, { [`${prefix}_GRPC_PORT`]: addrs[component].split(":")[1]!, [`${prefix}_GRPC_HEALTH_PORT`]: "0" });
      if (component !== "presence") env.DATABASE_URL = db.url;
      if (component === "posts")
        Object.assign(env, { SB_POSTS_ACCOUNTS_ADDR: addrs.accounts!, SB_POSTS_PRESENCE_ADDR: `127.0.0.1:${String(await freePort())}` });
      if (component === "presence")
        Object.assign(env, { SB_PRESENCE_ACCOUNTS_ADDR: addrs.accounts!, SB_PRESENCE_POSTS_ADDR: addrs.posts!, SB_PRESENCE_KV_BUCKET: presenceBucket });
    }
    const { handle, name, uid } = await runImage(component, component === "accounts" ? { ...withTestKek(env) } : env);

    const health = await fetch(`http://127.0.0.1:${String(opsPort)}/healthz`);
    expect(health.status).toBe(200);
    const main = mainProcess(name);
    expect(main.uid).toBe(uid);
    expect(main.capEff).toBe("0000000000000000");
    expect(main.cmd[0]).toBe("node");

    const t0 = Date.now();
    podman("stop", "--time", String(GRACE_S), name);
    expect(await handle.exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(GRACE_S * 1000);
    expect(handle.logs.some((l) => l.level === "fatal" || l.level === 60)).toBe(false);
  });
});
