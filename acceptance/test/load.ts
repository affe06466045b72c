/**
 * The acceptance load at the size this run asks for. `make test` runs the small size; `make
 * chaos` (SB_CHAOS_SIZE=full) runs the load the cluster is specified for: 1,000 clients through
 * HAProxy, 50 posts/s spread evenly over 20 channels of 50 members, plus 1 post/s into the
 * channel all 1,000 are in.
 */
import { startWorkload, type Cluster, type ClusterSize, type Workload, type WorkloadOptions } from "@switchboard/testkit";

const full = process.env.SB_CHAOS_SIZE === "full";

/** The cluster's size: the full topology under `make chaos`, the test one otherwise. */
export const clusterSize: ClusterSize = full ? "full" : "test";

type Load = Pick<WorkloadOptions, "clients" | "channels" | "membersPerChannel" | "postsPerSecond" | "everyonePerSecond">;

const load: Load = full
  ? { clients: 1_000, channels: 20, membersPerChannel: 50, postsPerSecond: 50, everyonePerSecond: 1 }
  : { clients: 40, channels: 4, membersPerChannel: 10, postsPerSecond: 10, everyonePerSecond: 1 };

/**
 * Settings every acceptance cluster runs with: all its clients come from one address through
 * HAProxy (up to 1,000 at full size, plus those a killed gateway's lease still counts until it
 * lapses), more than the per-address default of real use allows (SB_PRESENCE_MAX_CONNECTIONS_PER_IP,
 * 2,000), and a killed or drained gateway's clients reconnect at once.
 */
export const loadEnv: Readonly<Record<string, string>> = {
  SB_PRESENCE_MAX_CONNECTIONS_PER_IP: "0",
  SB_GATEWAY_MAX_UPGRADES_IN_PROGRESS: "0",
  SB_GATEWAY_UPGRADES_PER_SEC: "0",
};

/** The acceptance load on a cluster: its population seeded, every client connected through the ingress. */
export function startLoad(cluster: Cluster): Promise<Workload> {
  return startWorkload({ url: cluster.url, databaseUrl: cluster.databaseUrl, postsAddr: cluster.addrs.posts, ...load });
}

/** Prints a figure line the closing reports quote (vitest shows a test's stdout). */
export function figure(what: string, values: Readonly<Record<string, unknown>>): void {
  console.log(`figures: ${what}: ${JSON.stringify(values)}`);
}
