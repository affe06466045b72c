/**
 * A private PostgreSQL server for tests that stop, kill or restart PostgreSQL: Debian's
 * PostgreSQL 15 binaries, a data directory of its own under the repository's .tmp/ (git-ignored),
 * a free loopback port, trust authentication. PostgreSQL refuses to run as root, so as root it
 * runs as the postgres user (runuser). The machine's shared server is never touched.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import pg from "pg";
import { repoRoot } from "../deployables.js";
import { freePort } from "../ports.js";
import { waitFor } from "../wait.js";

export interface PostgresServer {
  /** postgres:// URL of the server's `postgres` database. */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  readonly pid: number | undefined;
  signal(sig: NodeJS.Signals): void;
  /** SIGKILL, and wait for the exit (crash recovery on the next start). */
  kill(): Promise<void>;
  /** A clean stop (SIGINT: fast shutdown). */
  halt(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** halt() or kill() if needed, then start(). */
  restart(o?: { kill?: boolean }): Promise<void>;
  /** Stops it and removes its data. */
  stop(): Promise<void>;
}

function binDir(): string {
  const dir = process.env.PG_BIN_DIR ?? "/usr/lib/postgresql/15/bin";
  if (!existsSync(join(dir, "postgres")))
    throw new Error(`PostgreSQL server binaries not found in ${dir}: install postgresql-15 (make postgresql) or set PG_BIN_DIR`);
  return dir;
}

/** The command prefix that runs a binary as the postgres user when we are root. */
function asPostgres(): { readonly prefix: readonly string[]; readonly uid?: number; readonly gid?: number } {
  if (process.getuid?.() !== 0) return { prefix: [] };
  const id = (flag: string): number => Number(spawnSync("id", [flag, "postgres"], { encoding: "utf8" }).stdout.trim());
  const uid = id("-u");
  const gid = id("-g");
  if (!Number.isSafeInteger(uid) || uid <= 0) throw new Error("running as root, and there is no postgres user to run PostgreSQL as");
  return { prefix: ["runuser", "-u", "postgres", "--"], uid, gid };
}

function signalPid(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

function childPids(pid: number): number[] {
  const r = spawnSync("pgrep", ["-P", String(pid)], { encoding: "utf8" });
  return r.stdout
    .split("\n")
    .map(Number)
    .filter((n) => Number.isSafeInteger(n) && n > 0);
}

async function accepts(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  try {
    await c.connect();
    await c.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

export async function startPostgresServer(o: { name?: string } = {}): Promise<PostgresServer> {
  const bin = binDir();
  const who = asPostgres();
  const base = join(repoRoot(), ".tmp", "postgres");
  mkdirSync(base, { recursive: true });
  const dataDir = join(base, `${o.name ?? "pg"}-${randomBytes(4).toString("hex")}`);
  mkdirSync(dataDir, { mode: 0o700 });
  if (who.uid !== undefined) chownSync(dataDir, who.uid, who.gid!);
  const run = (cmd: string, args: readonly string[]): ReturnType<typeof spawnSync> => {
    const [exe, ...rest] = [...who.prefix, join(bin, cmd), ...args];
    return spawnSync(exe!, rest, { encoding: "utf8" });
  };
  const init = run("initdb", ["-D", dataDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-instructions"]);
  if (init.status !== 0) {
    rmSync(dataDir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${String(init.stderr)}`);
  }
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stderr = "";

  const start = async (): Promise<void> => {
    // The socket directory is the data directory: nothing outside the tree is written.
    const args = [
      "-D",
      dataDir,
      "-p",
      String(port),
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      `unix_socket_directories=${dataDir}`,
      "-c",
      "max_connections=200",
    ];
    const [exe, ...rest] = [...who.prefix, join(bin, "postgres"), ...args];
    const c = spawn(exe!, rest, { stdio: ["ignore", "ignore", "pipe"] });
    c.stderr.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child = c;
    exited = new Promise((resolve) => c.once("exit", () => resolve()));
    await waitFor(
      async () => {
        if (c.exitCode !== null) throw new Error(`postgres exited: ${stderr}`);
        return accepts(url);
      },
      { timeoutMs: 30_000, intervalMs: 100, what: "the private PostgreSQL to accept connections" },
    );
  };
  const running = (): boolean => !!child && child.exitCode === null && child.signalCode === null;
  // Signals go to the postmaster itself, not to runuser: runuser answers SIGTERM or SIGINT by
  // sending SIGTERM (a "smart" shutdown that waits for every client), then SIGKILL 2 s later.
  const halt = async (): Promise<void> => {
    if (!running()) return;
    const pid = postmasterPid();
    if (pid)
      signalPid(pid, "SIGINT"); // fast shutdown: clients are disconnected, a clean checkpoint
    else child!.kill("SIGINT");
    await exited;
  };
  const kill = async (): Promise<void> => {
    if (!running()) return;
    const pid = postmasterPid();
    // The postmaster and every backend at once, as when the whole server is killed: backends
    // left behind would hold the shared memory and keep the next start from running.
    if (pid) for (const p of [pid, ...childPids(pid)]) signalPid(p, "SIGKILL");
    else child!.kill("SIGKILL");
    await exited;
  };
  const postmasterPid = (): number | undefined => {
    try {
      const pid = Number(readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
      return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined; // not started, or stopped
    }
  };

  try {
    await start();
  } catch (e: unknown) {
    rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
  return {
    url,
    port,
    dataDir,
    get pid() {
      return postmasterPid();
    },
    signal(sig) {
      const pid = postmasterPid();
      if (pid) signalPid(pid, sig);
    },
    kill,
    halt,
    start,
    async restart(r = {}) {
      await (r.kill ? kill() : halt());
      await start();
    },
    async stop() {
      await halt().catch(() => kill());
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
