/**
 * Membership under load, randomised: at least 10,000 membership operations (join, add, leave,
 * kick, team leave and join, DM creation), interleaved with posts, reactions and typing, over
 * three gateways, with every client's events checked against the test's own model of who was a
 * member when each event was made (membership-run.ts): 0 events to a non-member, 0 missed by a
 * member, 0 duplicates. The seed is printed; SB_MEMBERSHIP_SEED=<seed> runs the same choices
 * again. Conversions between public and private are among the operations: channel_updated to
 * the members, channel_converted to the whole team, and self-joins only while public.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { startCluster, type Cluster } from "@switchboard/testkit";
import { clusterSize, figure } from "./load.js";
import { runMembership, type MembershipSize } from "./membership-run.js";
import { seedFromEnv } from "./prng.js";

const full = clusterSize === "full";
const size: MembershipSize = full
  ? { users: 300, teamChannels: 90, ops: 50_000, actionsPerRound: 4 }
  : { users: 64, teamChannels: 48, ops: Number(process.env.SB_MEMBERSHIP_OPS ?? 10_000), actionsPerRound: 4 };

let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster({ size: clusterSize, topology: { gateways: 3 }, postgres: "private" });
}, 180_000);

afterAll(async () => {
  await cluster?.stop();
}, 120_000);

it(
  "every event reaches exactly the members of its channel, through every membership change",
  async () => {
    const seed = seedFromEnv();
    console.log(`membership seed: ${String(seed)} (SB_MEMBERSHIP_SEED=${String(seed)} repeats this run)`);
    const run = await runMembership(cluster, size, seed);
    figure("membership", {
      seed,
      gateways: cluster.gateways.list.length,
      clients_per_gateway: run.clientsPerGateway,
      membership_ops: run.membershipOps,
      rounds: run.rounds,
      ops: run.counts,
      ops_ms: run.opsMs,
      membership_ops_per_s: Math.round((run.membershipOps * 1000) / run.opsMs),
      settle_ms: run.settleMs,
      expected_copies: run.report.expected,
      received_copies: run.report.received,
      missing: run.report.missing,
      leaked: run.report.leaked,
      duplicates: run.report.duplicates,
      fence_timeouts: run.fenceTimeouts,
      errors: run.errors.length,
      ignored_before_start: run.ignoredBeforeStart,
    });
    if (run.report.samples.length > 0) {
      const kindOf = (line: string): string => /\|([a-z0-9]{26})\|/.exec(line)?.[1] ?? "";
      console.log(`seed ${String(seed)}:\n${run.report.samples.map((l) => `${l} [${run.kinds.get(kindOf(l)) ?? "?"}]`).join("\n")}`);
      for (const l of run.report.samples) {
        const key = / missed (\S+)/.exec(l)?.[1];
        if (key && run.notes.has(key)) console.log(`${key}: ${run.notes.get(key)!}`);
      }
      // What the gateways said of it: their warnings and errors.
      for (const gw of cluster.gateways.list) {
        const lines = gw.process.logs.filter((l) => l.level === "warn" || l.level === "error").slice(0, 30);
        for (const l of lines) console.log(`${gw.name}: ${JSON.stringify(l)}`);
      }
    }
    if (run.errors.length > 0) console.log(`seed ${String(seed)} errors:\n${run.errors.slice(0, 20).join("\n")}`);
    expect(run.membershipOps).toBeGreaterThanOrEqual(size.ops);
    expect(run.errors).toEqual([]);
    expect({ missing: run.report.missing, leaked: run.report.leaked, duplicates: run.report.duplicates, fenceTimeouts: run.fenceTimeouts }).toEqual({
      missing: 0,
      leaked: 0,
      duplicates: 0,
      fenceTimeouts: 0,
    });
  },
  full ? 3_600_000 : 900_000,
);
