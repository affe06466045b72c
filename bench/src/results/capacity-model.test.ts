import { describe, expect, it } from "vitest";
import { actionsPerUserPerS, membersPerPost, planCapacity, podsToAbsorbDrain, capacityReport } from "./capacity-model.js";
import type { RunResults } from "./run-results.js";

describe("capacity model", () => {
  it("takes load-test-ng's simulated user as worked by hand", () => {
    // 0.05/20 + 0.1/40 + 0.15/60 + 0.4/120 + 0.3/600 actions per second.
    expect(actionsPerUserPerS()).toBeCloseTo(0.0113333, 6);
    // (20 x 2 + 20 x 5.5 + 40 x (0.7 x 50 + 0.3 x 5)) / 80.
    expect(membersPerPost()).toBeCloseTo(20.125, 6);
  });

  it("sizes the fleet from the measured figures", () => {
    const p = planCapacity({ bytesPerConnection: 3000, deliveriesPerCpuS: 1_000_000, reconnectsPerS: 5000, postCpuMs: 2 });
    const perAction = 0.0113333 / 15.444;
    expect(p.traffic.postsPerSPer1000).toBeCloseTo(perAction * 1000, 3);
    expect(p.traffic.channelEventsPerS).toBeCloseTo(1e6 * perAction * 1.1755, 0);
    expect(p.traffic.deliveriesPerS).toBeCloseTo(1e6 * perAction * 1.1755 * 20.125, -1);
    expect(p.traffic.reconnectsPerS).toBeCloseTo(1e6 * perAction * 0.1454, 1);
    // 2 GiB / 3,000 B holds 715,827 sockets: 2 pods by memory; the 5,000-socket target asks 200.
    expect(p.gateways).toMatchObject({ podsByMemory: 2, podsByTarget: 200, podsByDrain: 5, pods: 200 });
    expect(p.gateways!.memoryGiB).toBeCloseTo(3e9 / 1024 ** 3, 6);
    expect(p.posts!.cores).toBeCloseTo((1e6 * perAction * 2) / 1000, 3);
    expect(p.missing).toEqual([]);
  });

  it("leaves out what a run did not measure, and says so", () => {
    const p = planCapacity({ deliveriesPerCpuS: 1_000_000 });
    expect(p.gateways).toBeUndefined();
    expect(p.posts).toBeUndefined();
    expect(p.missing).toEqual(["idle-memory: bytes per connection", "connect-storm: reconnects per second", "grpc-create-post: CPU per post"]);
  });

  it("needs as many pods as take a drained pod's clients within the window", () => {
    expect(podsToAbsorbDrain(1e6, 50_000)).toBe(5); // 200,000 <= 4 x 50,000
    expect(podsToAbsorbDrain(1e6, 1_000)).toBe(33); // 30,303 <= 32 x 1,000, and 31,250 > 31 x 1,000
  });

  it("renders beside Centrifugo's run, from a run's own figures, and skips failed rows", () => {
    const run = {
      info: {} as RunResults["info"],
      scenarios: {
        "fanout-burst": { figures: { gateway_deliveries_per_cpu_s: 900_000 }, seconds: 1 },
        "idle-memory": { figures: { gateway_bytes_per_connection: 4_837 }, seconds: 1 },
        "connect-storm": { figures: { reconnects_per_s: 905, reconnects_per_cpu_s: 5_263 }, seconds: 1 },
        "grpc-create-post": {
          figures: { service_cpu_ms_per_call_posts: 1, service_cpu_ms_per_call_postgres: 1 },
          seconds: 1,
          rows: [{ label: "r", subject: "Switchboard", peer: false, values: {}, failed: "incomplete" }],
        },
      },
    } as RunResults;
    const c = capacityReport(run);
    const md = [...c.rows.map((row) => `| ${row.join(" | ")} |`), c.missing, ...c.limits].join("\n");
    expect(md).toMatch(/\| deliveries per second \| 17,3\d\d \| 500,000 \|/);
    expect(md).toMatch(/gateway cores at Centrifugo's delivery rate \| 0\.556 \|/);
    // 1,000,000 / 5,000 sockets; by the drain, 1e6 / P <= (P - 1) x 905/s x 10 s from P = 12.
    expect(md).toMatch(/\| gateway pods \| 200 \(memory 3, socket target 200, drain 12\) \| 20 \|/);
    expect(md).toMatch(/\| gateway memory for the connections \| 4\.5 GiB \|/);
    expect(md).toMatch(/Not measured in this run, so left out of the plan: grpc-create-post: CPU per post\./);
    expect(md).toMatch(/NATS fan-in and fan-out/);
  });
});
