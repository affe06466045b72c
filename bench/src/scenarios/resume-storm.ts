/**
 * resume-storm: 5,000 seeded clients on one gateway of three while posts flow into their
 * channels; that gateway gets SIGTERM and drains (sockets closed with 4000 in batches over its
 * drain spread, buffered events handed to whichever gateway each client resumes on). Every
 * client reconnects as the stock Mattermost client does (3 s + up to 2 s of jitter, with
 * connection_id and sequence_number) to one of the other two gateways. Measured: the time from
 * SIGTERM, and from each client's own close, until every client has resumed elsewhere (its
 * first frame after the reconnect, with no new hello), the replay volume, and loss: every
 * client must have every post of its channels exactly once, with consecutive seq and one
 * hello.
 */
import { connectBus, subjects, type Bus } from "@switchboard/bus";
import { PostsService } from "@switchboard/proto/posts";
import { createRpcClient } from "@switchboard/rpc";
import { seedPopulation, sleep, startStack, waitFor, testClientTls, type ChildHandle, type Population } from "@switchboard/testkit";
import { percentile } from "../closed-loop.js";
import { machineCpuSeconds, postgresCpuSeconds, processCpuSeconds } from "../proc-cpu.js";
import { profiledNodeArgs, type Scenario } from "../scenario.js";
import { counterBy, scrapeSamples } from "../scrape.js";
import {
  startLoadClient,
  STOCK_RECONNECT_DELAY_MS,
  STOCK_RECONNECT_JITTER_MS,
  type ConnectionRecord,
  type LoadClient,
  type Report,
} from "../ws-load/load-client-pool.js";

const CLIENTS = 5_000;
/** QUICK=1 runs at most this many. */
const QUICK_CLIENTS = 1_000;
/** Each process keeps under the 20,000 open files it may have (one socket per client). */
const MAX_CLIENTS = 15_000;
/** Channels besides town-square; each client's user is a member of exactly one. */
const CHANNELS = 10;
/** Posts per second spread over the channels, plus posts per second into town-square (everyone). */
const POSTS_PER_S = 20;
const EVERYONE_POSTS_PER_S = 1;
/** Calls in flight at most; the flow waits rather than piling calls up. */
const MAX_IN_FLIGHT = 64;
/** Posts flow this long before the SIGTERM, and this long after every client is back. */
const BEFORE_MS = 3_000;
const AFTER_MS = 2_000;
const TARGET_S = 10;
/** The load client runs on this CPU. */
const LOAD_CPU = 1;
const PATH = "/api/v4/websocket";
/**
 * The gateways' drain and resume settings, passed on from this process's environment when set
 * (`SB_GATEWAY_RESUME_HANDOVER_MS=10000 make bench ...`); the gateway's defaults otherwise.
 */
const GATEWAY_SETTINGS = [
  "SB_GATEWAY_PRESTOP_DELAY_MS",
  "SB_GATEWAY_DRAIN_SPREAD_MS",
  "SB_GATEWAY_RESUME_HANDOVER_MS",
  "SB_GATEWAY_SHUTDOWN_DEADLINE_MS",
  "SB_GATEWAY_RESUME_CLAIM_TIMEOUT_MS",
  "SB_GATEWAY_REPLAY_EVENTS",
  "SB_GATEWAY_QUEUE_LIMIT",
] as const;

interface CreatedPost {
  readonly id: string;
  readonly channelId: string;
}

/** Creates posts at a steady rate (round-robin over the channels, and into town-square) until stopped. */
function postFlow(pop: Population, addr: string) {
  const client = createRpcClient(PostsService, { address: addr, defaultDeadlineMs: 30_000, tls: testClientTls("posts") });
  const created: CreatedPost[] = [];
  const errors: string[] = [];
  let inFlight = 0;
  let stopped = false;
  const post = async (channelId: string, message: string) => {
    inFlight++;
    try {
      const r = await client.createPost({ post: { channelId, message }, setOnline: false }, { token: pop.admin.token });
      if (r.post?.channelId !== channelId) throw new Error(`CreatePost in ${channelId} answered without the post`);
      created.push({ id: r.post.id, channelId });
    } catch (e: unknown) {
      errors.push(String(e));
    } finally {
      inFlight--;
    }
  };
  const started = Date.now();
  const everyEveryone = Math.round(POSTS_PER_S / EVERYONE_POSTS_PER_S);
  const running = (async () => {
    for (let k = 0; !stopped; k++) {
      const due = started + (k * 1000) / POSTS_PER_S;
      if (due > Date.now()) await sleep(due - Date.now());
      while (inFlight >= MAX_IN_FLIGHT && !stopped) await sleep(5);
      if (stopped) break;
      void post(pop.channels[k % pop.channels.length]!.id, `storm ${String(k)}`);
      if (k % everyEveryone === 0) void post(pop.everyone.id, `storm everyone ${String(k)}`);
    }
    while (inFlight > 0) await sleep(10);
  })();
  return {
    created,
    async stop(): Promise<{ created: CreatedPost[]; errors: string[]; seconds: number }> {
      stopped = true;
      await running;
      client.close();
      return { created, errors, seconds: (Date.now() - started) / 1000 };
    },
  };
}

interface Loss {
  missing: number;
  duplicates: number;
  leaked: number;
  clientsWithLoss: number;
}

/** Every client must hold every post of its channels exactly once, and nothing else. */
function checkPosts(
  report: Report,
  expected: readonly (readonly string[])[],
  channelOf: ReadonlyMap<string, string>,
  userChannels: readonly Set<string>[],
): Loss {
  const loss: Loss = { missing: 0, duplicates: 0, leaked: 0, clientsWithLoss: 0 };
  report.conns.forEach((c, i) => {
    const seen = new Set<number>();
    let missing = 0;
    let duplicates = 0;
    let leaked = 0;
    let held = 0;
    for (const p of c.posts) {
      if (seen.has(p)) {
        duplicates++;
        continue;
      }
      seen.add(p);
      const ch = channelOf.get(report.postIds[p]!);
      if (ch === undefined || !userChannels[i]!.has(ch)) leaked++;
      else held++;
    }
    missing = expected[i]!.length - held;
    loss.missing += missing;
    loss.duplicates += duplicates;
    loss.leaked += leaked;
    if (missing + duplicates + leaked > 0) loss.clientsWithLoss++;
  });
  return loss;
}

const ms = (values: number[]) => {
  const s = values.slice().sort((a, b) => a - b);
  return { p50: percentile(s, 50), p99: percentile(s, 99), max: s.at(-1) ?? 0 };
};

/** The resume that brought the client back after its drain close (code 4000), if any. */
function drainResume(c: ConnectionRecord) {
  const close = c.closes.find((x) => x.code === 4000);
  if (!close) return undefined;
  return { close, resume: c.resumes.find((r) => r.closedAt === close.at) };
}

/** Sums of the drained gateway's log lines: the handovers it answered, and the drain's own summary. */
function holderLogs(g: ChildHandle) {
  let claims = 0;
  let events = 0;
  let bytes = 0;
  let refusedOrGap = 0;
  let unclaimed = -1;
  for (const l of g.logs) {
    if (l.msg === "resume claim answered") {
      claims++;
      events += Number(l.events);
      bytes += Number(l.bytes);
      if (l.result !== "handed_over") refusedOrGap++;
    } else if (l.msg === "resume handover over") unclaimed = Number(l.unclaimed);
  }
  return { claims, events, bytes, refusedOrGap, unclaimed };
}

/** When each connection's claim was answered by the holder, and resumed by its claimant (log times, by connection id). */
function claimTimes(drained: ChildHandle, others: readonly ChildHandle[]) {
  const answered = new Map<string, number>();
  const resumed = new Map<string, number>();
  for (const l of drained.logs) if (l.msg === "resume claim answered") answered.set(String(l.conn_id), Date.parse(String(l.time)));
  for (const g of others)
    for (const l of g.logs) if (l.msg === "resumed a connection from another gateway") resumed.set(String(l.conn_id), Date.parse(String(l.time)));
  return { answered, resumed };
}

/** Sums of the claimants' log lines: events handed over to them and events they had already recorded. */
function claimantLogs(gs: readonly ChildHandle[]) {
  let resumed = 0;
  let handed = 0;
  let merged = 0;
  for (const g of gs)
    for (const l of g.logs)
      if (l.msg === "resumed a connection from another gateway") {
        resumed++;
        handed += Number(l.handed);
        merged += Number(l.merged);
      }
  return { resumed, handed, merged };
}

export const scenario: Scenario = {
  name: "resume-storm",
  description: `${CLIENTS} clients on one gateway of three, posts flowing, the gateway drained (SIGTERM): time until all resumed elsewhere, replay volume, loss`,
  async run(ctx) {
    const wanted = Math.round(CLIENTS * ctx.scale);
    const clients = Math.max(CHANNELS, Math.round(Math.min(ctx.quick ? QUICK_CLIENTS : MAX_CLIENTS, wanted) / CHANNELS) * CHANNELS);
    // 5,000 sockets from one address, opened at once and resumed at once: above the edge limits'
    // defaults for real use (docs/protocol.md, "Limits"), which this load is not.
    const gatewayEnv: Record<string, string> = { SB_GATEWAY_MAX_UPGRADES_IN_PROGRESS: "0", SB_GATEWAY_UPGRADES_PER_SEC: "0" };
    for (const k of GATEWAY_SETTINGS) if (process.env[k]) gatewayEnv[k] = process.env[k];
    const settings = Object.entries(gatewayEnv).map(([k, v]) => `${k}=${v}`);
    // A nats-server of its own: the shared one exists only under vitest.
    const stack = await startStack({
      ownNats: true,
      gateways: 3,
      gatewayEnv,
      gatewayNodeArgs: profiledNodeArgs(),
      presenceEnv: { SB_PRESENCE_MAX_CONNECTIONS_PER_IP: "0" },
    });
    let load: LoadClient | undefined;
    let flow: ReturnType<typeof postFlow> | undefined;
    let bus: Bus | undefined;
    try {
      const [drained, ...others] = stack.gateways as [ChildHandle, ...ChildHandle[]];
      ctx.log(`seeding ${clients} users in ${CHANNELS} channels of ${clients / CHANNELS}`);
      const seedStart = Date.now();
      const pop = await seedPopulation({
        databaseUrl: stack.db.url,
        postsAddr: stack.addrs.posts,
        users: clients,
        channels: CHANNELS,
        membersPerChannel: clients / CHANNELS,
      });
      ctx.log(`seeded in ${((Date.now() - seedStart) / 1000).toFixed(1)} s`);
      const userChannels = pop.users.map(() => new Set([pop.everyone.id]));
      const index = new Map(pop.users.map((u, i) => [u.id, i]));
      for (const ch of pop.channels)
        for (const m of ch.memberIds) {
          const i = index.get(m);
          if (i !== undefined) userChannels[i]!.add(ch.id);
        }

      load = await startLoadClient({ cpu: LOAD_CPU });
      const port = Number(drained.ready.port);
      const otherPorts = others.map((g) => Number(g.ready.port));
      const opened = await load.open({
        host: "127.0.0.1",
        port,
        // The stock client's first dial.
        path: `${PATH}?connection_id=&sequence_number=0`,
        headers: pop.users.map((u) => ({ Authorization: `Bearer ${u.token}` })),
        record: true,
        reconnect: { ports: otherPorts },
      });
      ctx.log(`${opened.count} connections to gateway 0 in ${opened.ms} ms`);
      const lc = load;
      await waitFor(async () => (await lc.count()).hellos >= clients, { timeoutMs: 120_000, what: "a hello on every connection" });

      // When each claim reached NATS (its claimant has claimed the user's routing by then): a
      // listener beside the gateways on the claims' subject, whose last token is the connection id.
      bus = await connectBus({ ...stack.nats.as("gateway"), name: "bench-claim-listener" });
      const claimSeen = new Map<string, number>();
      bus.subscribe(subjects.allResumeClaims, (m) => {
        const id = m.subject.slice(m.subject.lastIndexOf(".") + 1);
        if (!claimSeen.has(id)) claimSeen.set(id, Date.now());
      });
      await bus.flush();

      flow = postFlow(pop, stack.addrs.posts);
      await sleep(BEFORE_MS);
      // CPU seconds of each party over the storm, from the SIGTERM until every client is back.
      const parties: [string, number][] = [
        ["claimant_gateways", others[0]!.pid],
        ["claimant_gateways", others[1]!.pid],
        ["posts", stack.posts.pid],
        ["nats", stack.nats.pid ?? 0],
        ["load_client", lc.pid],
      ];
      const cpuAt = () => parties.map(([, pid]) => (pid > 0 ? processCpuSeconds(pid) : 0));
      const cpu0 = cpuAt();
      // The claimants' event-loop lag over the storm: prom-client restarts its lag histogram at each scrape.
      const metricsUrls = others.map((g) => `http://127.0.0.1:${String(g.ready.ops_port)}/metrics`);
      /** The larger of the two claimants' lag max and p99, in ms, from one scrape each. */
      const lags = async () => {
        const pages = await Promise.all(metricsUrls.map((u) => scrapeSamples(u)));
        const ms = (name: string) => Math.max(...pages.map((p) => p(name))) * 1000;
        return { max: ms("nodejs_eventloop_lag_max_seconds"), p99: ms("nodejs_eventloop_lag_p99_seconds") };
      };
      await lags();
      const pg0 = postgresCpuSeconds(stack.db.name);
      const machine0 = machineCpuSeconds();
      // The drained gateway's CPU, sampled until it exits (its /proc entry goes with it).
      const drainedCpu0 = processCpuSeconds(drained.pid);
      let drainedCpu = drainedCpu0;
      const sampler = setInterval(() => {
        try {
          drainedCpu = processCpuSeconds(drained.pid);
        } catch {
          clearInterval(sampler);
        }
      }, 50);
      void drained.exited.then(() => clearInterval(sampler));
      const sigAt = Date.now();
      drained.signal("SIGTERM");
      ctx.log("SIGTERM to gateway 0");
      const exit = drained.exited.then((code) => ({ code, s: (Date.now() - sigAt) / 1000 }));
      await waitFor(async () => (await lc.count()).back >= clients, { timeoutMs: 120_000, intervalMs: 100, what: "every client back" }).catch((e: unknown) =>
        ctx.log(String(e)),
      );
      const stormS = (Date.now() - sigAt) / 1000;
      const cpu1 = cpuAt();
      const pgCpu = postgresCpuSeconds(stack.db.name) - pg0;
      const machineCpu = machineCpuSeconds() - machine0;
      const lag = await lags();
      const stormCpu: Record<string, number> = {};
      parties.forEach(([name], i) => (stormCpu[`${name}_cpu_s_in_storm`] = (stormCpu[`${name}_cpu_s_in_storm`] ?? 0) + cpu1[i]! - cpu0[i]!));
      ctx.log(`every client back after ${stormS.toFixed(1)} s (by poll)`);
      await sleep(AFTER_MS);
      const posted = await flow.stop();
      flow = undefined;
      if (posted.errors.length > 0) throw new Error(`${posted.errors.length} CreatePost calls failed, e.g. ${posted.errors[0]!}`);
      // It exits by its shutdown deadline at the latest; a hung one is reported, not waited for.
      const drainExit = await Promise.race([exit, sleep(60_000).then(() => ({ code: "still running" as number | string, s: -1 }))]);
      clearInterval(sampler);

      // Every post to every member: wait for the deliveries, then check each client's.
      const channelOf = new Map(posted.created.map((p) => [p.id, p.channelId]));
      const byChannel = new Map<string, string[]>();
      for (const p of posted.created) {
        const ids = byChannel.get(p.channelId) ?? [];
        ids.push(p.id);
        byChannel.set(p.channelId, ids);
      }
      const expected = userChannels.map((chs) => [...chs].flatMap((ch) => byChannel.get(ch) ?? []));
      const deliveries = expected.reduce((a, e) => a + e.length, 0);
      await waitFor(async () => (await lc.count()).posted >= deliveries, { timeoutMs: 30_000, what: "every delivery" }).catch((e: unknown) =>
        ctx.log(String(e)),
      );
      await sleep(500);
      const report = await lc.report();
      const loss = checkPosts(report, expected, channelOf, userChannels);

      let seqErrors = 0;
      let extraHellos = 0;
      let notResumed = 0;
      let notElsewhere = 0;
      let closedAgain = 0;
      let dialFailures = 0;
      const fromClose: number[] = [];
      const dialFromClose: number[] = [];
      const upgradeFromDial: number[] = [];
      const firstFrameFromUpgrade: number[] = [];
      const requestFromUpgrade: number[] = [];
      const answeredFromRequest: number[] = [];
      const resumedFromAnswered: number[] = [];
      const times = claimTimes(drained, others);
      const closeFromSig: number[] = [];
      let lastBack = 0;
      /** The last first frame after a reconnect, resumes and new connections alike. */
      let lastAny = 0;
      for (const c of report.conns) {
        seqErrors += c.seqErrors;
        extraHellos += c.hellos - 1;
        dialFailures += c.dialFailures;
        if (c.closes.length > 1) closedAgain++;
        const d = drainResume(c);
        if (d?.resume?.firstFrameAt) lastAny = Math.max(lastAny, d.resume.firstFrameAt);
        if (!d?.resume || d.resume.firstFrameAt === 0 || d.resume.hello) {
          notResumed++;
          continue;
        }
        if (d.resume.port === port) notElsewhere++;
        closeFromSig.push(d.close.at - sigAt);
        fromClose.push(d.resume.firstFrameAt - d.close.at);
        dialFromClose.push(d.resume.dialAt - d.close.at);
        upgradeFromDial.push(d.resume.upgradeAt - d.resume.dialAt);
        firstFrameFromUpgrade.push(d.resume.firstFrameAt - d.resume.upgradeAt);
        const answeredAt = times.answered.get(c.connectionIds[0]!);
        const resumedAt = times.resumed.get(c.connectionIds[0]!);
        const requestAt = claimSeen.get(c.connectionIds[0]!);
        if (requestAt !== undefined) requestFromUpgrade.push(requestAt - d.resume.upgradeAt);
        if (requestAt !== undefined && answeredAt !== undefined) answeredFromRequest.push(answeredAt - requestAt);
        if (answeredAt !== undefined && resumedAt !== undefined) resumedFromAnswered.push(resumedAt - answeredAt);
        lastBack = Math.max(lastBack, d.resume.firstFrameAt);
      }
      const allBackS = notResumed === 0 ? (lastBack - sigAt) / 1000 : -1;
      const resume = ms(fromClose);
      const dial = ms(dialFromClose);
      const upgrade = ms(upgradeFromDial);
      const claim = ms(firstFrameFromUpgrade);
      const requested = ms(requestFromUpgrade);
      const answered = ms(answeredFromRequest);
      const adopted = ms(resumedFromAnswered);
      const closes = closeFromSig.slice().sort((a, b) => a - b);
      const holder = holderLogs(drained);
      const claimant = claimantLogs(others);
      const claims = new Map<string, number>();
      for (const g of others) {
        const m = await counterBy(`http://127.0.0.1:${String(g.ready.ops_port)}/metrics`, "sb_gateway_resume_claims_total", {}, "result");
        for (const [k, v] of m) claims.set(k, (claims.get(k) ?? 0) + v);
      }
      const lossless = loss.missing + loss.duplicates + loss.leaked + seqErrors + extraHellos + notResumed + notElsewhere === 0;
      const met = lossless && allBackS >= 0 && allBackS < TARGET_S;
      return {
        figures: {
          clients,
          channels: CHANNELS,
          posts_per_s: POSTS_PER_S,
          everyone_posts_per_s: EVERYONE_POSTS_PER_S,
          posts_created: posted.created.length,
          deliveries_expected: deliveries,
          drained_exit_code: typeof drainExit.code === "number" ? drainExit.code : -1,
          drained_exit_s: drainExit.s,
          first_close_after_sigterm_s: (closes[0] ?? 0) / 1000,
          last_close_after_sigterm_s: (closes.at(-1) ?? 0) / 1000,
          all_resumed_after_sigterm_s: allBackS,
          all_back_after_sigterm_s: (lastAny - sigAt) / 1000,
          resume_from_close_p50_ms: resume.p50,
          resume_from_close_p99_ms: resume.p99,
          resume_from_close_max_ms: resume.max,
          dial_from_close_p50_ms: dial.p50,
          dial_from_close_max_ms: dial.max,
          upgrade_from_dial_p50_ms: upgrade.p50,
          upgrade_from_dial_p99_ms: upgrade.p99,
          upgrade_from_dial_max_ms: upgrade.max,
          first_frame_from_upgrade_p50_ms: claim.p50,
          first_frame_from_upgrade_p99_ms: claim.p99,
          first_frame_from_upgrade_max_ms: claim.max,
          claim_request_from_upgrade_p50_ms: requested.p50,
          claim_request_from_upgrade_p99_ms: requested.p99,
          holder_answer_from_request_p50_ms: answered.p50,
          holder_answer_from_request_p99_ms: answered.p99,
          claimant_resumed_from_answer_p50_ms: adopted.p50,
          claimant_resumed_from_answer_p99_ms: adopted.p99,
          handover_claims_answered: holder.claims,
          handover_events: holder.events,
          handover_bytes: holder.bytes,
          handover_refused_or_gap: holder.refusedOrGap,
          handover_unclaimed_at_deadline: holder.unclaimed,
          resumed_elsewhere_logged: claimant.resumed,
          replayed_events: claimant.handed,
          merged_events: claimant.merged,
          claims_claimed: claims.get("claimed") ?? 0,
          claims_missed: claims.get("missed") ?? 0,
          claims_refused: claims.get("refused") ?? 0,
          claims_gap: claims.get("gap") ?? 0,
          missing: loss.missing,
          duplicates: loss.duplicates,
          leaked: loss.leaked,
          clients_with_loss: loss.clientsWithLoss,
          seq_errors: seqErrors,
          new_hellos: extraHellos,
          not_resumed: notResumed,
          resumed_on_drained_gateway: notElsewhere,
          closed_more_than_once: closedAgain,
          failed_reconnect_attempts: dialFailures,
          storm_window_s: stormS,
          drained_gateway_cpu_s_until_exit: drainedCpu - drainedCpu0,
          ...stormCpu,
          postgres_cpu_s_in_storm: pgCpu,
          // Busy cores of the whole machine over the storm, this run's processes and everyone else's.
          machine_busy_cores_in_storm: machineCpu / stormS,
          claimant_eventloop_lag_max_ms: lag.max,
          claimant_eventloop_lag_p99_ms: lag.p99,
        },
        target: {
          text: `every client resumed elsewhere within ${TARGET_S} s of SIGTERM; 0 missing, 0 duplicates, 0 leaked, seq consecutive, 0 new hellos`,
          met,
        },
        notes: [
          `gateway settings: ${settings.length > 0 ? `${settings.join(", ")}, the rest` : "all"} at their defaults (pre-stop 0 unless set: no balancer here, the clients dial the other gateways themselves)`,
          `clients reconnect as the stock client: ${String(STOCK_RECONNECT_DELAY_MS / 1000)} s + up to ${String(STOCK_RECONNECT_JITTER_MS / 1000)} s of jitter after the close; resume time = close to the first frame after the reconnect (it includes the wait for the next event)`,
          `load client pinned to CPU ${LOAD_CPU}; the stack unpinned`,
        ],
      };
    } finally {
      await flow?.stop().catch(() => undefined);
      await bus?.close();
      await load?.close();
      await stack.stop();
    }
  },
};
