/**
 * A capacity model for a fleet this machine cannot hold: from a run's measured figures (memory
 * per idle connection, gateway CPU per delivery, connects per second, CPU per post), the pods,
 * cores and memory that 1,000,000 connected users need under Mattermost-like traffic, set beside
 * Centrifugo's published 1M-connection run on the same terms.
 *
 * The traffic is Mattermost's own load-test tool's simulated user, read from
 * mattermost/mattermost-load-test-ng at commit 784dbc1 (2026-06-05); each constant names the
 * file it comes from. Everything the model assumes beyond those files is in `ASSUMPTIONS`, and
 * the report prints them, with where the model stops holding.
 */
import { isError, type RunResults } from "./run-results.js";

/** mattermost-load-test-ng's simulated user (SimulController), as shipped. */
const LOAD_TEST_NG = {
  source: "mattermost/mattermost-load-test-ng@784dbc1",
  /** Mean wait between a user's actions, before the rate multiplier: `AvgIdleTimeMs` (loadtest/control/simulcontroller/config.go). */
  avgIdleMs: 20_000,
  /**
   * Rate multipliers of the wait and the share of users at each (`RatesDistribution`,
   * config/config.sample.json): [rate, share]. The wait is uniform around avgIdleMs × rate
   * (`PickIdleTimeMs`, loadtest/control/utils.go).
   */
  rates: [
    [1, 0.05],
    [2, 0.1],
    [3, 0.15],
    [6, 0.4],
    [30, 0.3],
  ] as readonly (readonly [number, number])[],
  /** The sum of every action's frequency in `getActionList` (loadtest/control/simulcontroller/controller.go). */
  totalFrequency: 15.444,
  /** Those of the actions that make events every member of a channel receives, or that reconnect. */
  frequency: { createPost: 1, addReaction: 0.1306, editPost: 0.04, deletePost: 0.0049, reconnectWebSocket: 0.144, fullReload: 0.0008, logoutLogin: 0.0006 },
  /** Channels of each kind in the generated data set (`NumChannels*`, config/gencontroller.sample.json). */
  channels: { direct: 20, group: 20, private: 20, public: 20 },
  /**
   * Open and private channels' members (`ChannelMembersDistribution`, same file): half the
   * channels hold up to 50 members and are picked with probability 0.7, the other half up to 5.
   */
  members: [
    { limit: 50, probability: 0.7 },
    { limit: 5, probability: 0.3 },
  ] as readonly { limit: number; probability: number }[],
} as const;

/** Group messages hold 3 to 8 users (Mattermost's `ChannelGroupMinUsers`/`ChannelGroupMaxUsers`). */
const GROUP_MEMBERS = (3 + 8) / 2;

/** Centrifugo's published run (centrifugal.dev, blog "Million connections with Centrifugo", 2020-02-10). */
const CENTRIFUGO_1M = {
  source: "centrifugal.dev/blog/2020/02/10/million-connections-with-centrifugo",
  connections: 1_000_000,
  deliveriesPerS: 500_000,
  connectsPerS: 200_000 / 60,
  serverCores: 40,
  serverPods: 20,
  /** "about 10 CPU total" with the connections held and few messages. */
  idleCores: 10,
  memoryGiB: 27,
  brokerCores: 5 * 0.32,
  p99Ms: 200,
} as const;

/** What the model takes from a run; absent when the run did not measure it. */
export interface MeasuredCapacity {
  /** idle-memory: RSS per authenticated idle connection on one gateway process. */
  readonly bytesPerConnection?: number;
  /** fanout-burst: gateway deliveries per gateway CPU-second. */
  readonly deliveriesPerCpuS?: number;
  /** connect-storm: reconnects (hello included) per second on one gateway process. */
  readonly reconnectsPerS?: number;
  /** connect-storm: the same per gateway CPU-second (the cores reconnects cost); the wall rate when absent. */
  readonly reconnectsPerCpuS?: number;
  /** grpc-create-post: CPU milliseconds per CreatePost in posts and PostgreSQL together. */
  readonly postCpuMs?: number;
}

/** The fleet the model sizes, and the pods it packs it into (the production overlay's gateway limits). */
export interface Fleet {
  readonly connectedUsers: number;
  /** Of the members of a channel, the share connected when an event is made (1: every member, the upper bound). */
  readonly shareOnline: number;
  readonly gatewayPodCores: number;
  readonly gatewayPodMemoryBytes: number;
  /** Ceiling of sockets per gateway pod whatever its memory (the autoscaler's target). */
  readonly socketsPerPodTarget: number;
  /** A rolling deploy moves one pod's clients at a time: they must be back within this. */
  readonly drainWindowS: number;
}

const DEFAULT_FLEET: Fleet = {
  connectedUsers: 1_000_000,
  shareOnline: 1,
  gatewayPodCores: 2,
  gatewayPodMemoryBytes: 2 * 1024 ** 3,
  socketsPerPodTarget: 5_000,
  drainWindowS: 10,
};

/** Actions per user per second: the mean of 1 / (avgIdle × rate) over the rate shares. */
export function actionsPerUserPerS(t = LOAD_TEST_NG): number {
  return t.rates.reduce((a, [rate, share]) => a + share / ((t.avgIdleMs / 1000) * rate), 0);
}

/** Members a post reaches, averaged over channels picked uniformly across the data set's kinds. */
export function membersPerPost(t = LOAD_TEST_NG): number {
  const openOrPrivate = t.members.reduce((a, m) => a + m.limit * m.probability, 0);
  const c = t.channels;
  const all = c.direct + c.group + c.private + c.public;
  return (c.direct * 2 + c.group * GROUP_MEMBERS + (c.private + c.public) * openOrPrivate) / all;
}

export interface CapacityPlan {
  readonly traffic: {
    readonly postsPerSPer1000: number;
    readonly channelEventsPerS: number;
    readonly membersPerPost: number;
    readonly deliveriesPerS: number;
    readonly reconnectsPerS: number;
  };
  /** Absent where a figure it needs was not measured. */
  readonly gateways?: {
    readonly podsByMemory: number;
    readonly podsByTarget: number;
    readonly podsByDrain?: number;
    readonly pods: number;
    readonly memoryGiB: number;
    readonly deliveryCores?: number;
    readonly cores: number;
  };
  readonly posts?: { readonly cores: number };
  /** Why a part of the plan is missing: the figures the run did not have. */
  readonly missing: readonly string[];
}

/** The fewest pods P with users / P <= (P - 1) x perPodInWindow. */
export function podsToAbsorbDrain(users: number, perPodInWindow: number): number {
  let p = 2;
  while (users / p > (p - 1) * perPodInWindow) p++;
  return p;
}

/** Works the plan out: pure, so a test can hold it to hand-worked figures. */
export function planCapacity(m: MeasuredCapacity, fleet: Fleet = DEFAULT_FLEET, t = LOAD_TEST_NG): CapacityPlan {
  const actions = actionsPerUserPerS(t) / t.totalFrequency;
  const f = t.frequency;
  const postsPerUserS = actions * f.createPost;
  const channelEventsPerS = fleet.connectedUsers * actions * (f.createPost + f.addReaction + f.editPost + f.deletePost);
  const perPost = membersPerPost(t);
  const deliveriesPerS = channelEventsPerS * perPost * fleet.shareOnline;
  const reconnectsPerS = fleet.connectedUsers * actions * (f.reconnectWebSocket + f.fullReload + f.logoutLogin);
  const missing: string[] = [];
  if (m.bytesPerConnection === undefined) missing.push("idle-memory: bytes per connection");
  if (m.deliveriesPerCpuS === undefined) missing.push("fanout-burst: deliveries per gateway CPU-second");
  if (m.reconnectsPerS === undefined) missing.push("connect-storm: reconnects per second");
  if (m.postCpuMs === undefined) missing.push("grpc-create-post: CPU per post");
  let gateways: CapacityPlan["gateways"];
  if (m.bytesPerConnection !== undefined) {
    const perPodByMemory = Math.floor(fleet.gatewayPodMemoryBytes / m.bytesPerConnection);
    const podsByMemory = Math.ceil(fleet.connectedUsers / perPodByMemory);
    const podsByTarget = Math.ceil(fleet.connectedUsers / fleet.socketsPerPodTarget);
    // A drained pod's clients (users / P) reconnect to the P - 1 others, which must take them
    // within the window: users / P <= (P - 1) x reconnects/s x window.
    const podsByDrain = m.reconnectsPerS === undefined ? undefined : podsToAbsorbDrain(fleet.connectedUsers, m.reconnectsPerS * fleet.drainWindowS);
    const pods = Math.max(podsByMemory, podsByTarget, podsByDrain ?? 0);
    const deliveryCores = m.deliveriesPerCpuS === undefined ? undefined : deliveriesPerS / m.deliveriesPerCpuS;
    const perCore = m.reconnectsPerCpuS ?? m.reconnectsPerS;
    const reconnectCores = perCore === undefined ? 0 : reconnectsPerS / perCore;
    gateways = {
      podsByMemory,
      podsByTarget,
      podsByDrain,
      pods,
      memoryGiB: (fleet.connectedUsers * m.bytesPerConnection) / 1024 ** 3,
      deliveryCores,
      cores: (deliveryCores ?? 0) + reconnectCores,
    };
  }
  const posts = m.postCpuMs === undefined ? undefined : { cores: (fleet.connectedUsers * postsPerUserS * m.postCpuMs) / 1000 };
  return {
    traffic: { postsPerSPer1000: postsPerUserS * 1000, channelEventsPerS, membersPerPost: perPost, deliveriesPerS, reconnectsPerS },
    gateways,
    posts,
    missing,
  };
}

/** The measured inputs of a run, by the scenarios' own figure names. */
function measuredCapacity(r: RunResults): MeasuredCapacity {
  const fig = (scenario: string, ...names: string[]): number | undefined => {
    const o = r.scenarios[scenario];
    if (!o || isError(o) || (o.rows ?? []).some((row) => row.failed)) return undefined;
    for (const n of names) if (Number.isFinite(o.figures[n])) return o.figures[n];
    return undefined;
  };
  const postsCpu = fig("grpc-create-post", "service_cpu_ms_per_call_posts");
  const pgCpu = fig("grpc-create-post", "service_cpu_ms_per_call_postgres");
  return {
    bytesPerConnection: fig("idle-memory", "gateway_bytes_per_connection"),
    deliveriesPerCpuS: fig("fanout-burst", "gateway_deliveries_per_cpu_s"),
    reconnectsPerS: fig("connect-storm", "reconnects_per_s"),
    reconnectsPerCpuS: fig("connect-storm", "reconnects_per_cpu_s"),
    postCpuMs: postsCpu === undefined || pgCpu === undefined ? undefined : postsCpu + pgCpu,
  };
}

const ASSUMPTIONS: readonly string[] = [
  `Traffic is ${LOAD_TEST_NG.source}'s simulated user: one action per ${String(LOAD_TEST_NG.avgIdleMs / 1000)} s × its rate multiplier (config.sample.json's distribution), each action picked by its frequency in getActionList; posts, reactions, edits and deletes reach every member of their channel.`,
  `Posts fall on channels uniformly over the generated data set's kinds (gencontroller.sample.json: 20 each of direct, group, private, public); group messages hold ${String(GROUP_MEMBERS)} users on average (3 to 8), open and private channels follow ChannelMembersDistribution (50 members with probability 0.7, else 5).`,
  "Every member of a channel is connected (share online 1): the upper bound for deliveries. Typing, statuses and other ephemeral events are left out, as the tool does not simulate typing.",
  "A gateway pod is the production overlay's: 2 cores and 2 GiB, at most 5,000 sockets (the autoscaler's target). Memory per connection is the idle-memory figure, measured on one process at 19,000 connections.",
  "A rolling deploy drains one gateway at a time; its clients must be back on the others within 10 s (the resume window), at the measured reconnects per second per gateway process.",
  "Posts' CPU is the posts service's and PostgreSQL's per CreatePost, measured with both on this machine's shared cores.",
];

const LIMITS: readonly string[] = [
  "NATS fan-in and fan-out: each channel event reaches every gateway holding one of its members. With large channels spread over every gateway (a 10,000-member channel), each event goes to every pod, and the NATS cluster's outbound messages grow with pods × events, not with deliveries.",
  "PostgreSQL writes: every post is one transaction on one primary (the outbox row in it); the model sizes posts' CPU, not the primary's WAL and fsync rate, which bounds posts per second first.",
  "Connect storms after a full outage are not this model's drain: every client at once, bounded by accounts' token checks and presence, not by one gateway's accept rate.",
  "The figures come from one 2-core machine, shared by load and server; per-core rates on larger machines differ.",
];

const n = (v: number, digits = 3): string =>
  Number.isInteger(v) ? v.toLocaleString("en-US") : Math.abs(v) >= 1000 ? Math.round(v).toLocaleString("en-US") : String(Number(v.toPrecision(digits)));

/** The model of a run, as a table and its notes, for summary.md and the HTML report alike. */
export interface CapacityReport {
  readonly title: string;
  readonly head: readonly string[];
  readonly rows: readonly (readonly string[])[];
  readonly missing?: string;
  readonly assumptions: readonly string[];
  readonly limits: readonly string[];
}

export function capacityReport(r: RunResults, fleet: Fleet = DEFAULT_FLEET): CapacityReport {
  const m = measuredCapacity(r);
  const p = planCapacity(m, fleet);
  const t = p.traffic;
  const rows: string[][] = [
    ["posts per second per 1,000 users", n(t.postsPerSPer1000), "—"],
    ["channel events per second", n(t.channelEventsPerS), "—"],
    ["members a post reaches", n(t.membersPerPost), "10 (one group channel each)"],
    ["deliveries per second", n(t.deliveriesPerS), n(CENTRIFUGO_1M.deliveriesPerS)],
    ["reconnects per second (steady)", n(t.reconnectsPerS), n(CENTRIFUGO_1M.connectsPerS)],
  ];
  const g = p.gateways;
  if (g) {
    const by = `memory ${n(g.podsByMemory)}, socket target ${n(g.podsByTarget)}${g.podsByDrain === undefined ? "" : `, drain ${n(g.podsByDrain)}`}`;
    rows.push(
      ["gateway pods", `${n(g.pods)} (${by})`, String(CENTRIFUGO_1M.serverPods)],
      ["gateway memory for the connections", `${n(g.memoryGiB)} GiB`, `${String(CENTRIFUGO_1M.memoryGiB)} GiB`],
      [
        "gateway cores for deliveries and reconnects",
        n(g.cores),
        `${String(CENTRIFUGO_1M.serverCores)} at 500k deliveries/s, ${String(CENTRIFUGO_1M.idleCores)} idle`,
      ],
    );
  }
  if (m.deliveriesPerCpuS !== undefined)
    rows.push(["gateway cores at Centrifugo's delivery rate", n(CENTRIFUGO_1M.deliveriesPerS / m.deliveriesPerCpuS), String(CENTRIFUGO_1M.serverCores)]);
  if (p.posts) rows.push(["posts + PostgreSQL cores", n(p.posts.cores), "— (no store)"]);
  rows.push(["broker", "NATS, 3 nodes", `Redis, 5 shards at ${n(CENTRIFUGO_1M.brokerCores)} cores in all`]);
  return {
    title: `Capacity model: ${n(fleet.connectedUsers)} connected users`,
    head: ["quantity", "Switchboard (modelled from this run)", `Centrifugo's 1M run (${CENTRIFUGO_1M.source})`],
    rows,
    missing: p.missing.length > 0 ? `Not measured in this run, so left out of the plan: ${p.missing.join("; ")}.` : undefined,
    assumptions: ASSUMPTIONS,
    limits: LIMITS,
  };
}
