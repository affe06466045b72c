import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateNatsUsers, natsRoles, natsServerConfig, type NatsServerConfigOptions, type NatsUsers } from "@switchboard/bus";
import { natsAccess, type NatsAccess } from "./nats-access.js";
import { freePort } from "./ports.js";
import { waitFor } from "./wait.js";

export interface NatsServerOptions {
  readonly jetstream?: boolean;
  /** Extra command-line arguments. */
  readonly args?: readonly string[];
  /** The client port (default: a free one), for servers whose peers must know it in advance. */
  readonly port?: number;
  /** Its users (default: one per role, test and bench included, with fresh passwords). */
  readonly users?: NatsUsers;
  /** Presence's buckets (default "any": tests sharing a server name buckets of their own). */
  readonly presenceBuckets?: readonly string[] | "any";
  /** The rest of its configuration (the generator's: cluster, server name, TLS, extra settings). */
  readonly config?: Omit<NatsServerConfigOptions, "users" | "presenceBuckets" | "host" | "port" | "jetstreamStoreDir">;
}

/**
 * A real nats-server with authorization on: its configuration comes from the generator in
 * @switchboard/bus, with a user per component, and anonymous clients are refused.
 */
export interface NatsServer extends NatsAccess {
  readonly port: number;
  readonly storeDir: string;
  readonly configFile: string;
  readonly pid: number | undefined;
  /**
   * Writes the configuration again with these users (a rotation, say) and has the server
   * reload it (SIGHUP): clients whose password changed are disconnected, and reconnect with
   * whatever their password file holds by then.
   */
  reload(users: NatsUsers): Promise<void>;
  /** The server's log lines about refused clients and subjects ("Authorization Violation", "Permissions Violation"). */
  violations(): readonly string[];
  /** Sends a signal (SIGKILL, SIGSTOP, SIGCONT...) to the server process. */
  signal(sig: NodeJS.Signals): void;
  /** Kills the server (SIGKILL) and waits for it to exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port with the same store. */
  restart(): Promise<void>;
  /** Stops it and removes the store. */
  stop(): Promise<void>;
}

function natsBinary(): string {
  const fromEnv = process.env.NATS_SERVER_BIN;
  if (fromEnv) return fromEnv;
  const which = spawnSync("sh", ["-c", "command -v nats-server"], { encoding: "utf8" });
  if (which.status === 0 && which.stdout.trim()) return which.stdout.trim();
  if (existsSync("/usr/sbin/nats-server")) return "/usr/sbin/nats-server";
  throw new Error("nats-server not found: install it (apt-get install nats-server) or set NATS_SERVER_BIN; `make test` does this");
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}

/** A real nats-server on a free loopback port, JetStream on a temporary store. */
export async function startNatsServer(o: NatsServerOptions = {}): Promise<NatsServer> {
  const bin = natsBinary();
  const port = o.port ?? (await freePort());
  const storeDir = mkdtempSync(join(tmpdir(), "sb-nats-"));
  const configFile = join(storeDir, "nats.conf");
  let users = o.users ?? generateNatsUsers(natsRoles);
  const writeConfig = (): void => {
    writeFileSync(
      configFile,
      natsServerConfig({
        ...o.config,
        users,
        presenceBuckets: o.presenceBuckets ?? "any",
        host: "127.0.0.1",
        port,
        ...(o.jetstream !== false ? { jetstreamStoreDir: storeDir } : {}),
      }),
      { mode: 0o600 },
    );
  };
  writeConfig();
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const violations: string[] = [];

  const launch = async (): Promise<void> => {
    const args = ["-c", configFile, ...(o.args ?? [])];
    const c = spawn(bin, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    let partial = ""; // a log line the last chunk ended inside
    let readyLine = false;
    c.stderr.on("data", (d: Buffer) => {
      const text = d.toString();
      const lines = (partial + text).split("\n");
      partial = lines.pop()!;
      for (const line of lines) if ((line.includes("Violation") || line.includes("authentication error")) && violations.length < 1_000) violations.push(line);
      const all = stderr + text;
      readyLine ||= all.includes("Server is ready");
      stderr = all.slice(-4000);
    });
    child = c;
    exited = new Promise((resolve) => c.once("exit", () => resolve()));
    // An exit (a port taken, a bad config) fails at once, with the server's own words.
    const died = exited.then(() => {
      throw new Error(`nats-server exited: ${stderr}`);
    });
    died.catch(() => undefined);
    // Its own "ready" line, not merely an open port: the port may be someone else's.
    const listening = waitFor(async () => readyLine && (await portOpen(port)), { timeoutMs: 10_000, what: "nats-server to listen" });
    listening.catch(() => undefined); // the loser of the race below settles unobserved
    await Promise.race([died, listening]);
  };
  await launch();

  const kill = async (): Promise<void> => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
  };
  const url = `nats://127.0.0.1:${port}`;
  return {
    ...natsAccess(url, () => users),
    port,
    storeDir,
    configFile,
    get pid() {
      return child?.pid;
    },
    violations: () => violations,
    async reload(next) {
      users = next;
      writeConfig();
      child?.kill("SIGHUP");
      await Promise.resolve();
    },
    signal(sig) {
      child?.kill(sig);
    },
    kill,
    async restart() {
      await kill();
      await launch();
    },
    async stop() {
      await kill();
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}
