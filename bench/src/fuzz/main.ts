/**
 * `make fuzz`: a whole Switchboard on loopback (testkit's stack), a fuzzer in a process of its
 * own pinned to one core at a fixed rate (attacker.ts), and a well-behaved client throughout
 * (steady-client.ts). Control (valid traffic at the same rate) and attack alternate three
 * times. It passes when every server process is alive and healthy after every phase, none
 * grew past the RSS bound, the well-behaved client saw no error, and no REST request got a 5xx
 * or hung. Prints the well-behaved client's p99s, attacked beside control, and writes the
 * report to bench/results/fuzz-<time>.{json,md}.
 *
 * Settings: SB_FUZZ_DURATION_S (whole run, default 150), SB_FUZZ_RATE (fuzzer units per
 * second, default 150), SB_FUZZ_SEED (default: the time), SB_FUZZ_CPU (the fuzzer's core,
 * default the last), SB_FUZZ_RSS_LIMIT_MB (per server process, default 512).
 */
import { fork } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { newClient4, seedPopulation, startStack, testIdentity, type ChildHandle } from "@switchboard/testkit";
import { percentile } from "../closed-loop.js";
import { processRssBytes } from "../proc-cpu.js";
import type { AttackerCommand, AttackerReport } from "./attacker.js";
import { startSteadyClient, type PhaseStats } from "./steady-client.js";
import type { Targets } from "./surface.js";

const here = dirname(fileURLToPath(import.meta.url));
const num = (name: string, dflt: number): number => {
  const v = Number(process.env[name] ?? "");
  return process.env[name] && Number.isFinite(v) && v > 0 ? v : dflt;
};
const durationS = num("SB_FUZZ_DURATION_S", 150);
const rate = num("SB_FUZZ_RATE", 150);
const seed = num("SB_FUZZ_SEED", Date.now() % 2 ** 31);
const cpu = process.env.SB_FUZZ_CPU !== undefined ? Number(process.env.SB_FUZZ_CPU) : availableParallelism() - 1;
const rssLimitMb = num("SB_FUZZ_RSS_LIMIT_MB", 512);
const PHASES = ["control", "attack", "control", "attack", "control", "attack"] as const;
const phaseMs = Math.max(5_000, Math.floor((durationS * 1000) / PHASES.length));

interface PhaseResult {
  readonly phase: string;
  readonly mode: (typeof PHASES)[number];
  readonly fuzzer: AttackerReport;
  readonly steady: PhaseStats;
  readonly maxRssMb: Record<string, number>;
  readonly health: Record<string, string>;
}

console.log(`fuzz: ${String(durationS)} s, ${String(rate)} units/s on CPU ${String(cpu)}, seed ${String(seed)}, RSS bound ${String(rssLimitMb)} MB`);
const stack = await startStack({ ownNats: true });
const servers: Record<string, ChildHandle> = {
  accounts: stack.accounts,
  posts: stack.posts,
  presence: stack.presence,
  gateway: stack.gateways[0]!,
};
const exited: Record<string, string> = {};
let stopping = false;
for (const [name, p] of Object.entries(servers)) {
  void p.exited.then((c) => {
    exited[name] = String(c);
    if (!stopping)
      console.error(
        `fuzz: ${name} exited (${String(c)}); its stderr:\n${p.stderr.slice(-3000)}\nits last log lines:\n${p.logs
          .slice(-3)
          .map((l) => JSON.stringify(l).slice(0, 2000))
          .join("\n")}`,
      );
  });
}

let failed = false;
try {
  const pop = await seedPopulation({ databaseUrl: stack.db.url, postsAddr: stack.addrs.posts, users: 2, channels: 2, membersPerChannel: 1 });
  const [steadyUser, fuzzUser] = pop.users as [(typeof pop.users)[0], (typeof pop.users)[0]];
  const [steadyChannel, fuzzChannel] = pop.channels as [(typeof pop.channels)[0], (typeof pop.channels)[0]];
  const fuzzRest = newClient4(stack.gatewayUrls[0]!);
  fuzzRest.setToken(fuzzUser.token);
  const post = await fuzzRest.createPost({ channel_id: fuzzChannel.id, message: "fuzz target" });
  const targets: Targets = {
    gatewayUrl: stack.gatewayUrls[0]!,
    grpcAddr: stack.addrs.posts,
    grpcTls: testIdentity("gateway"),
    token: fuzzUser.token,
    userId: fuzzUser.id,
    teamId: pop.teamId,
    channelId: fuzzChannel.id,
    postId: post.id,
  };

  const attacker = fork(join(here, "attacker.js"), [], {
    execPath: "taskset",
    execArgv: ["-c", String(cpu), process.execPath],
    env: { ...process.env, SB_FUZZ_TARGETS: JSON.stringify(targets), SB_FUZZ_RATE: String(rate), SB_FUZZ_SEED: String(seed) },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const command = (c: AttackerCommand) => attacker.send(c);
  const report = () =>
    new Promise<AttackerReport>((resolve, reject) => {
      attacker.once("message", (m) => resolve(m as AttackerReport));
      attacker.once("exit", (c) => reject(new Error(`the fuzzer exited (${String(c)})`)));
      command({ report: true });
    });

  const steady = await startSteadyClient({
    gatewayUrl: stack.gatewayUrls[0]!,
    postsAddr: stack.addrs.posts,
    token: steadyUser.token,
    channelId: steadyChannel.id,
    intervalMs: 100,
  });

  const results: PhaseResult[] = [];
  for (const [i, mode] of PHASES.entries()) {
    command({ mode });
    steady.rotate();
    const maxRss: Record<string, number> = {};
    const end = Date.now() + phaseMs;
    while (Date.now() < end) {
      for (const [name, p] of Object.entries(servers)) {
        if (exited[name] === undefined) maxRss[name] = Math.max(maxRss[name] ?? 0, processRssBytes(p.pid) / 2 ** 20);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    // Idle first (its connections closed), then the tally: all of the phase, nothing after it.
    command({ mode: "idle" });
    const fuzzer = await report();
    const stats = steady.rotate();
    const health: Record<string, string> = {};
    for (const [name, p] of Object.entries(servers)) {
      if (exited[name] !== undefined) health[name] = `exited (${exited[name]})`;
      else {
        const r = await fetch(`http://127.0.0.1:${String(p.ready.ops_port)}/healthz`, { signal: AbortSignal.timeout(3_000) }).catch((e: unknown) => e);
        health[name] = r instanceof Response ? String(r.status) : `unreachable (${String(r)})`;
      }
    }
    results.push({ phase: `${String(i + 1)}`, mode, fuzzer, steady: stats, maxRssMb: maxRss, health });
    const f = fuzzer.counts;
    console.log(
      `phase ${String(i + 1)} ${mode.padEnd(7)} units ${String(fuzzer.units).padStart(6)}  rest 4xx ${String(f["rest.4xx"] ?? 0)} 5xx ${String(f["rest.5xx"] ?? 0)}` +
        `  ws closes ${String(f["ws.closed_by_peer"] ?? 0)}  h2 goaway ${String(f["h2.goaway"] ?? 0)}  steady errors ${String(stats.errors.length)}` +
        `  health ${Object.values(health).join("/")}  max RSS MB ${Object.entries(maxRss)
          .map(([k, v]) => `${k} ${v.toFixed(0)}`)
          .join(", ")}`,
    );
  }
  command({ stop: true });
  await steady.stop();

  // Verdict and report.
  const problems: string[] = [];
  for (const r of results) {
    for (const [name, h] of Object.entries(r.health)) if (h !== "200") problems.push(`phase ${r.phase} (${r.mode}): ${name} ${h}`);
    for (const [name, mb] of Object.entries(r.maxRssMb))
      if (mb > rssLimitMb) problems.push(`phase ${r.phase}: ${name} RSS ${mb.toFixed(0)} MB > ${String(rssLimitMb)} MB`);
    for (const e of new Set(r.steady.errors)) problems.push(`phase ${r.phase} (${r.mode}): well-behaved client: ${e}`);
    if (r.fuzzer.counts["rest.5xx_found"]) problems.push(`phase ${r.phase}: ${String(r.fuzzer.counts["rest.5xx_found"])} REST 5xx`);
    if (r.fuzzer.counts["rest.timeout"]) problems.push(`phase ${r.phase}: ${String(r.fuzzer.counts["rest.timeout"])} REST requests hung (10 s)`);
    if (r.fuzzer.units < (rate * phaseMs) / 1000 / 2) problems.push(`phase ${r.phase}: the fuzzer sent ${String(r.fuzzer.units)} units, under half its rate`);
  }
  const agg = (mode: string, op: keyof PhaseStats["ms"]) => {
    const xs = results.filter((r) => r.mode === mode).flatMap((r) => r.steady.ms[op]);
    xs.sort((a, b) => a - b);
    return { n: xs.length, p50: percentile(xs, 50), p99: percentile(xs, 99) };
  };
  const ops = [
    ["REST create post", "post"],
    ["WS posted event (from send)", "event"],
    ["gRPC GetChannel", "grpc"],
  ] as const;
  const rows = ops.map(([label, op]) => {
    const c = agg("control", op);
    const a = agg("attack", op);
    return `| ${label} | ${String(c.n)} | ${c.p50.toFixed(1)} | ${c.p99.toFixed(1)} | ${String(a.n)} | ${a.p50.toFixed(1)} | ${a.p99.toFixed(1)} |`;
  });
  const sum = (mode: string, key: string) => results.filter((r) => r.mode === mode).reduce((n, r) => n + (r.fuzzer.counts[key] ?? 0), 0);
  const maxRssAll: Record<string, number> = {};
  for (const r of results) for (const [k, v] of Object.entries(r.maxRssMb)) maxRssAll[k] = Math.max(maxRssAll[k] ?? 0, v);
  const md = [
    `# make fuzz ${new Date().toISOString()}`,
    "",
    `${String(durationS)} s in ${String(PHASES.length)} phases of ${String(phaseMs / 1000)} s, fuzzer at ${String(rate)} units/s pinned to CPU ${String(cpu)}, seed ${String(seed)}.`,
    "",
    "Well-behaved client latency, ms (control = the fuzzer sends valid traffic at the same rate):",
    "",
    "| operation | control n | control p50 | control p99 | attacked n | attacked p50 | attacked p99 |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...rows,
    "",
    `Fuzzer, attacked phases: ${String(sum("attack", "ws.hostile_frames"))} hostile WS frames (${String(sum("attack", "ws.closed_by_peer"))} sockets closed by the gateway), ` +
      `${String(sum("attack", "rest.hostile_requests"))} hostile REST requests (4xx ${String(sum("attack", "rest.4xx"))}, 2xx ${String(sum("attack", "rest.2xx"))}, 5xx ${String(sum("attack", "rest.5xx"))}), ` +
      `${String(sum("attack", "h2.hostile_frames"))} hostile HTTP/2 frames (${String(sum("attack", "h2.goaway"))} GOAWAY).`,
    `Max RSS MB (bound ${String(rssLimitMb)}): ${Object.entries(maxRssAll)
      .map(([k, v]) => `${k} ${v.toFixed(0)}`)
      .join(", ")}.`,
    "",
    problems.length === 0 ? "PASS" : `FAIL:\n${problems.map((p) => `- ${p}`).join("\n")}`,
    ...results.flatMap((r) => r.fuzzer.samples.map((s) => `- sample (phase ${r.phase}): ${s}`)),
  ].join("\n");
  console.log(`\n${md}\n`);
  const out = join(here, "..", "..", "results", `fuzz-${new Date().toISOString().replace(/[:.]/g, "-")}`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(`${out}.md`, `${md}\n`);
  writeFileSync(`${out}.json`, JSON.stringify({ durationS, rate, seed, cpu, rssLimitMb, problems, results }, null, 2));
  console.log(`report: ${out}.md`);
  failed = problems.length > 0;
  if (failed) {
    // What the servers logged at error level: the cause of a 5xx or of a well-behaved call's error.
    for (const [name, p] of Object.entries(servers)) {
      const errors = p.logs.filter((l) => l.level === "error" || l.level === "fatal");
      for (const l of errors.slice(0, 10)) console.log(`${name} error log: ${JSON.stringify(l).slice(0, 1500)}`);
      if (errors.length > 10) console.log(`${name}: ${String(errors.length - 10)} more error lines`);
    }
  }
} catch (e: unknown) {
  console.error(`fuzz: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  failed = true;
} finally {
  stopping = true;
  await stack.stop();
}
process.exit(failed ? 1 : 0);
