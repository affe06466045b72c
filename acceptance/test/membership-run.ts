/**
 * The randomised membership run: a seeded generator picks membership changes (join, add,
 * leave, kick, public/private conversion, team leave and join, DM creation) interleaved with posts, reactions and typing,
 * over many channels at once; the test keeps its own model of who is in which channel and, from
 * it, owes each event to exactly the users who are members when it is made (FenceBook).
 *
 * The operations of one channel run one after another, the channels side by side; team
 * changes and DM creations run between rounds, while nothing else runs, as they touch many
 * channels. Every change is followed at once by a marker post into its channel (it races the
 * change's own events through the gateways: the joiner must get it, the leaver must not).
 * Typing is published by the sender's gateway straight onto NATS, outside the channel's
 * sequence, so before a typing the channel's fence must hold: every recipient of its last
 * change has the change's event (their gateways have applied it).
 *
 * What each operation sends (services/posts/src/events/event-builders.ts, Mattermost's
 * app/channel.go, app/team.go): user_added (to the channel without the added user, and to
 * them), user_removed (to the remaining members, and to the removed user naming the channel),
 * direct_added (to both members), leave_team (to the rest of the team, and to the user) with a
 * user_removed for every channel of the team they were in, added_to_team (to the user) with a
 * user_added for each default channel, posted and reaction_added (to the channel's members),
 * typing (to the channel's members but the sender), channel_updated (to the members) and
 * channel_converted (to the team) for a conversion.
 */
import { PostsService } from "@switchboard/proto/posts";
import { createRpcClient, type PostsClient } from "@switchboard/rpc";
import { newClient4, seedPopulation, startRecorder, waitFor, type Client4, type Cluster, type Recorder, testClientTls } from "@switchboard/testkit";
import { FenceBook, type BookReport } from "./fence-book.js";
import { Prng } from "./prng.js";

export interface MembershipSize {
  /** Users besides the admin, each with one recorder client. */
  readonly users: number;
  /** Open and private channels of the team whose members come and go. */
  readonly teamChannels: number;
  /** Membership operations to run (at least). */
  readonly ops: number;
  /** Operations per team channel per round. */
  readonly actionsPerRound: number;
}

export interface MembershipRun {
  readonly seed: number;
  readonly counts: Readonly<Record<string, number>>;
  readonly membershipOps: number;
  readonly rounds: number;
  /** Failed calls (each one an operation the model expected to succeed). */
  readonly errors: readonly string[];
  readonly fenceTimeouts: number;
  readonly report: BookReport;
  readonly opsMs: number;
  /** From the last operation until every client had everything owed to it (or the deadline). */
  readonly settleMs: number;
  readonly ignoredBeforeStart: number;
  readonly clientsPerGateway: readonly number[];
  /** Each channel's kind, by id (to read the samples). */
  readonly kinds: ReadonlyMap<string, string>;
  /** What the test knew when it made an event, by its key (to read the samples). */
  readonly notes: ReadonlyMap<string, string>;
}

type ChanKind = "open" | "private" | "default" | "direct";

interface Chan {
  readonly id: string;
  /** Open and private channels change kind when converted. */
  kind: ChanKind;
  readonly members: Set<string>;
  readonly posts: string[];
  readonly reacted: Set<string>;
  readonly rng: Prng;
  /** Resolves once every recipient of the channel's changes so far has their events. */
  fence: Promise<void>;
}

interface Person {
  readonly id: string;
  readonly label: string;
  readonly token: string;
  readonly rest: Client4;
  rec: Recorder;
}

const EMOJIS = ["smile", "+1", "heart", "tada", "eyes", "rocket", "thinking_face", "white_check_mark"];
const FENCE_TIMEOUT_MS = 20_000;
const TYPING_REPLY_MS = 10_000;

/** Runs `fn` over `items`, at most `limit` at a time. */
async function limited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) await fn(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

export async function runMembership(cluster: Cluster, size: MembershipSize, seed: number): Promise<MembershipRun> {
  const g = new Prng(seed);
  const setup = g.fork();
  const population = await seedPopulation({
    databaseUrl: cluster.databaseUrl,
    postsAddr: cluster.addrs.posts,
    users: size.users,
    channels: 0,
    membersPerChannel: 0,
  });
  const { admin, teamId } = population;
  const posts: PostsClient = createRpcClient(PostsService, { address: cluster.addrs.posts, defaultDeadlineMs: 30_000, tls: testClientTls("posts") });
  const asAdmin = { token: admin.token };
  const people = new Map<string, Person>();
  const labels = new Map<string, string>();
  const book = new FenceBook(labels);
  const channels: Chan[] = [];
  const teamMembers = new Set<string>();
  const errors: string[] = [];
  const counts: Record<string, number> = {};
  const count = (k: string): void => {
    counts[k] = (counts[k] ?? 0) + 1;
  };
  let fenceTimeouts = 0;
  let membershipOps = 0;
  const notes = new Map<string, string>();
  const lastChange = new Map<string, string>();
  try {
    // The team's channels: its two default ones (every member), and open and private ones with
    // about a third of the users each.
    const everyoneIds = [admin.id, ...population.users.map((u) => u.id)];
    for (const id of everyoneIds) teamMembers.add(id);
    const offTopic = (await posts.getChannelByName({ teamId, name: "off-topic" }, asAdmin)).channel!;
    for (const id of [population.everyone.id, offTopic.id]) {
      channels.push({ id, kind: "default", members: new Set(everyoneIds), posts: [], reacted: new Set(), rng: g.fork(), fence: Promise.resolve() });
    }
    const adds: { channelId: string; userId: string }[] = [];
    for (let i = 0; i < size.teamChannels; i++) {
      const kind: ChanKind = i % 3 === 2 ? "private" : "open";
      const ch = (
        await posts.createChannel({ teamId, name: `m-${String(seed)}-${String(i)}`, displayName: `M ${String(i)}`, type: kind === "open" ? "O" : "P" }, asAdmin)
      ).channel!;
      const members = new Set([admin.id]);
      for (const u of population.users) {
        if (setup.chance(0.33)) {
          members.add(u.id);
          adds.push({ channelId: ch.id, userId: u.id });
        }
      }
      channels.push({ id: ch.id, kind, members, posts: [], reacted: new Set(), rng: g.fork(), fence: Promise.resolve() });
    }
    await limited(adds, 16, (a) => posts.addChannelMember(a, asAdmin));

    // One recorder client per user, spread over the gateways directly (not through the ingress).
    const gws = cluster.gateways.list;
    const clientsPerGateway = gws.map(() => 0);
    [admin, ...population.users].forEach((u, i) => {
      const gw = i % gws.length;
      clientsPerGateway[gw]!++;
      labels.set(u.id, `${u.username}@${gws[gw]!.name}`);
      const rest = newClient4(cluster.url);
      rest.setToken(u.token);
      const rec = startRecorder({
        userId: u.id,
        token: u.token,
        target: `${gws[gw]!.url.replace(/^http/, "ws")}/api/v4/websocket`,
        label: u.username,
        onFrame: (f) => book.received(u.id, f),
      });
      people.set(u.id, { id: u.id, label: u.username, token: u.token, rest, rec });
    });
    await Promise.all([...people.values()].map((p) => p.rec.waitForHello(60_000)));
    book.start();

    const person = (id: string): Person => people.get(id)!;
    const fail = (what: string, e: unknown): void => {
      const m = e instanceof Error ? e.message : String(e);
      errors.push(`${what}: ${m}`);
    };
    /** A fence on these events: resolves when each has reached its recipients (or counts a timeout). */
    const fenceOn = async (events: readonly (readonly [string, readonly string[]])[]): Promise<void> => {
      const ok = await Promise.all(events.map(([key, users]) => book.arrived(key, users, FENCE_TIMEOUT_MS)));
      if (ok.includes(false)) fenceTimeouts++;
    };
    const sorted = (s: ReadonlySet<string>): string[] => everyoneIds.filter((id) => s.has(id));

    let postSeq = 0;
    const post = async (c: Chan, posterId: string, what: string): Promise<void> => {
      try {
        const p = await person(posterId).rest.createPost({ channel_id: c.id, message: `${what} ${String(postSeq++)}` });
        c.posts.push(p.id);
        book.expect(`posted|${c.id}|${p.id}`, c.members);
        notes.set(
          `posted|${c.id}|${p.id}`,
          `${what} #${String(c.posts.length)} by ${person(posterId).label} at ${String(Date.now())}; last changes: ${[...c.members].map((u) => `${person(u).label}=${lastChange.get(`${c.id}|${u}`) ?? "-"}`).join(" ")}`,
        );
        count(what);
      } catch (e: unknown) {
        fail(`${what} by ${person(posterId).label}`, e);
      }
    };
    const react = async (c: Chan): Promise<void> => {
      const userId = c.rng.pick(sorted(c.members));
      const postId = c.rng.pick(c.posts.slice(-20));
      const emoji = c.rng.pick(EMOJIS);
      const k = `${userId}:${postId}:${emoji}`;
      if (c.reacted.has(k)) return post(c, userId, "post");
      c.reacted.add(k);
      try {
        await person(userId).rest.addReaction(userId, postId, emoji);
        book.expect(`reaction_added|${c.id}|${k}`, c.members);
        count("reaction");
      } catch (e: unknown) {
        fail(`reaction by ${person(userId).label}`, e);
      }
    };
    const type = async (c: Chan): Promise<void> => {
      await c.fence;
      const senderId = c.rng.pick(sorted(c.members));
      const parentId = c.rng.id();
      const p = person(senderId);
      const reply = await new Promise<{ status?: string; error?: unknown } | undefined>((resolve) => {
        const t = setTimeout(() => resolve(undefined), TYPING_REPLY_MS);
        p.rec.client.sendMessage("user_typing", { channel_id: c.id, parent_id: parentId }, (m: { status?: string; error?: unknown }) => {
          clearTimeout(t);
          resolve(m);
        });
      });
      if (reply?.status !== "OK") {
        fail(`typing by ${p.label}`, new Error(reply ? JSON.stringify(reply) : "no reply"));
        return;
      }
      book.expect(
        `typing|${c.id}|${senderId}:${parentId}`,
        [...c.members].filter((u) => u !== senderId),
      );
      count("typing");
    };
    /** Public to private or back (by the admin): channel_updated to the members, channel_converted to the team. */
    const convert = async (c: Chan): Promise<void> => {
      const to = c.kind === "open" ? "P" : "O";
      try {
        await person(admin.id).rest.updateChannelPrivacy(c.id, to);
      } catch (e: unknown) {
        fail(`convert ${c.id} to ${to}`, e);
        return;
      }
      count(to === "P" ? "to_private" : "to_public");
      membershipOps++;
      c.kind = to === "P" ? "private" : "open";
      const updated = `channel_updated|${c.id}|${to}`;
      const converted = `channel_converted|${c.id}|${c.id}`;
      const next = fenceOn([
        [updated, book.expect(updated, c.members)],
        [converted, book.expect(converted, teamMembers)],
      ]);
      c.fence = Promise.all([c.fence, next]).then(() => undefined);
      if (c.members.size > 0) await post(c, c.rng.pick(sorted(c.members)), "marker");
    };
    /** One join, add, leave or kick in a team channel (now and then a conversion), then the marker post. */
    const change = async (c: Chan): Promise<void> => {
      if (c.rng.chance(0.03)) return convert(c);
      const members = sorted(c.members);
      const outside = sorted(teamMembers).filter((u) => !c.members.has(u));
      const add = outside.length > 0 && (members.length <= 2 || c.rng.chance(0.5));
      let events: [string, string[]][];
      if (add) {
        const userId = c.rng.pick(outside);
        const self = c.kind === "open" && c.rng.chance(0.5);
        // A channel emptied by team leaves is refilled by the admin (a system admin may add anyone).
        const actorId = self ? userId : members.length > 0 ? c.rng.pick(members) : admin.id;
        const what = self ? "join" : "add";
        try {
          await person(actorId).rest.addToChannel(userId, c.id);
        } catch (e: unknown) {
          fail(`${what} ${person(userId).label} to ${c.id} by ${person(actorId).label}`, e);
          return;
        }
        count(what);
        lastChange.set(`${c.id}|${userId}`, `${what} at ${String(Date.now())}`);
        c.members.add(userId);
        const key = `user_added|${c.id}|${userId}`;
        events = [[key, book.expect(key, c.members)]];
      } else {
        if (members.length <= 2) return post(c, c.rng.pick(members), "post");
        const userId = c.rng.pick(members);
        const self = c.rng.chance(0.5);
        const actorId = self ? userId : c.rng.pick(members.filter((u) => u !== userId));
        const what = self ? "leave" : "kick";
        try {
          await person(actorId).rest.removeFromChannel(userId, c.id);
        } catch (e: unknown) {
          fail(`${what} ${person(userId).label} from ${c.id} by ${person(actorId).label}`, e);
          return;
        }
        count(what);
        c.members.delete(userId);
        const toChannel = `user_removed|${c.id}|${userId}`;
        const toUser = `user_removed|${c.id}|self`;
        events = [
          [toChannel, book.expect(toChannel, c.members)],
          [toUser, book.expect(toUser, [userId])],
        ];
      }
      membershipOps++;
      const prev = c.fence;
      const next = fenceOn(events);
      c.fence = Promise.all([prev, next]).then(() => undefined);
      // The marker: right after the change, racing its events.
      await post(c, c.rng.pick(sorted(c.members)), "marker");
    };
    const act = async (c: Chan): Promise<void> => {
      const team = c.kind === "open" || c.kind === "private";
      if (c.members.size === 0) return team ? change(c) : undefined;
      const a = c.rng.weighted(team ? { change: 6, post: 2, reaction: 1, typing: 1 } : { change: 0, post: 2, reaction: 1, typing: 1 });
      if (a === "change") return change(c);
      if (a === "reaction" && c.posts.length > 0) return react(c);
      if (a === "typing") return type(c);
      return post(c, c.rng.pick(sorted(c.members)), "post");
    };

    /** Leaves the team (as themselves): out of every channel of the team. */
    const teamLeave = async (userId: string): Promise<void> => {
      try {
        await posts.removeTeamMember({ teamId, userId }, { token: person(userId).token });
      } catch (e: unknown) {
        fail(`team leave by ${person(userId).label}`, e);
        return;
      }
      count("team_leave");
      membershipOps++;
      const events: [string, string[]][] = [];
      const leaveKey = `leave_team||${teamId}:${userId}`;
      events.push([leaveKey, book.expect(leaveKey, teamMembers)]);
      teamMembers.delete(userId);
      for (const c of channels) {
        if (c.kind === "direct" || !c.members.has(userId)) continue;
        c.members.delete(userId);
        const toChannel = `user_removed|${c.id}|${userId}`;
        const toUser = `user_removed|${c.id}|self`;
        events.push([toChannel, book.expect(toChannel, c.members)], [toUser, book.expect(toUser, [userId])]);
      }
      await fenceOn(events);
    };
    /** Joins the team again (added by the admin): into its default channels. */
    const teamJoin = async (userId: string): Promise<void> => {
      try {
        await posts.addTeamMember({ teamId, userId }, asAdmin);
      } catch (e: unknown) {
        fail(`team join of ${person(userId).label}`, e);
        return;
      }
      count("team_join");
      membershipOps++;
      teamMembers.add(userId);
      const addedKey = `added_to_team||${teamId}:${userId}`;
      const events: [string, string[]][] = [[addedKey, book.expect(addedKey, [userId])]];
      for (const c of channels) {
        if (c.kind !== "default") continue;
        c.members.add(userId);
        const key = `user_added|${c.id}|${userId}`;
        events.push([key, book.expect(key, c.members)]);
      }
      await fenceOn(events);
    };
    const directPairs = new Set<string>();
    const createDirect = async (a: string, b: string): Promise<void> => {
      let id: string;
      try {
        id = (await person(a).rest.createDirectChannel([a, b])).id;
      } catch (e: unknown) {
        fail(`DM ${person(a).label} and ${person(b).label}`, e);
        return;
      }
      count("dm_create");
      membershipOps++;
      const key = `direct_added|${id}|${id}`;
      const c: Chan = { id, kind: "direct", members: new Set([a, b]), posts: [], reacted: new Set(), rng: g.fork(), fence: Promise.resolve() };
      channels.push(c);
      await fenceOn([[key, book.expect(key, [a, b])]]);
    };

    let rounds = 0;
    const started = Date.now();
    const userIds = population.users.map((u) => u.id);
    while (membershipOps < size.ops) {
      rounds++;
      // Between rounds, while nothing else runs: a team change now and then, and a few DMs.
      if (g.chance(0.3)) {
        const out = userIds.filter((u) => !teamMembers.has(u));
        if (out.length > 0 && (g.chance(0.5) || teamMembers.size < userIds.length / 2)) await teamJoin(g.pick(out));
        else await teamLeave(g.pick(userIds.filter((u) => teamMembers.has(u))));
      }
      const dms: [string, string][] = [];
      for (let i = g.int(3); i > 0; i--) {
        const a = g.pick(everyoneIds);
        const b = g.pick(everyoneIds);
        const pair = a < b ? `${a}${b}` : `${b}${a}`;
        if (a === b || directPairs.has(pair)) continue;
        directPairs.add(pair);
        dms.push([a, b]);
      }
      await Promise.all(dms.map(([a, b]) => createDirect(a, b)));
      await Promise.all(
        channels.map(async (c) => {
          const n = c.kind === "open" || c.kind === "private" ? size.actionsPerRound : c.kind === "default" ? 1 : c.rng.chance(0.1) ? 1 : 0;
          for (let i = 0; i < n; i++) await act(c);
        }),
      );
    }
    const opsMs = Date.now() - started;
    await Promise.all(channels.map((c) => c.fence));
    const settleFrom = Date.now();
    await waitFor(() => book.complete(), { timeoutMs: 60_000, intervalMs: 100, what: "every client to have every event owed to it" }).catch(() => undefined);
    const settleMs = Date.now() - settleFrom;
    return {
      seed,
      counts,
      membershipOps,
      rounds,
      errors,
      fenceTimeouts,
      report: book.check(),
      opsMs,
      settleMs,
      ignoredBeforeStart: book.ignoredBeforeStart,
      clientsPerGateway,
      notes,
      kinds: new Map(channels.map((c) => [c.id, c.kind])),
    };
  } finally {
    posts.close();
    for (const p of people.values()) p.rec.close();
  }
}
