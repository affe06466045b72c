/**
 * A population for load and delivery tests: N seeded users (seed-users.ts) in one team, so
 * all of them are in its town-square (the channel with everyone, as joining a team joins its
 * default channels), plus K open channels of M members each. Teams, channels and memberships
 * go through the posts gRPC API, so every membership is what the product writes, with its
 * events; the calls are pipelined with a bounded number in flight, and nobody logs in.
 */
import { PostsService } from "@switchboard/proto/posts";
import { createRpcClient, type PostsClient } from "@switchboard/rpc";
import { newId } from "@switchboard/model";
import { seedUsers, type SeededUser } from "./seed-users.js";
import { testClientTls } from "../pki.js";

export interface PopulationOptions {
  /** postgres:// URL of the database accounts runs on. */
  readonly databaseUrl: string;
  /** host:port of a posts gRPC server. */
  readonly postsAddr: string;
  readonly users: number;
  /** K channels besides town-square. */
  readonly channels: number;
  /** M members in each of them (members are taken round-robin from the users, so they spread evenly). */
  readonly membersPerChannel: number;
  /** gRPC calls in flight (default 32). */
  readonly concurrency?: number;
  readonly password?: string;
}

export interface SeededChannel {
  readonly id: string;
  readonly name: string;
  /** Its members, the admin included. */
  readonly memberIds: readonly string[];
}

export interface Population {
  /** A system admin, creator of the team and of every channel (so a member of each). */
  readonly admin: SeededUser;
  readonly users: readonly SeededUser[];
  readonly teamId: string;
  /** town-square: every user and the admin. */
  readonly everyone: SeededChannel;
  readonly channels: readonly SeededChannel[];
}

/** Runs `fn` over `items` with at most `limit` calls in flight; the first failure rejects. */
async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) await fn(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

export async function seedPopulation(o: PopulationOptions): Promise<Population> {
  const { users: n, channels: k, membersPerChannel: m } = o;
  if (m > n) throw new Error(`seedPopulation: ${String(m)} members per channel but only ${String(n)} users`);
  const [admin] = await seedUsers({
    databaseUrl: o.databaseUrl,
    count: 1,
    roles: "system_admin system_user",
    usernamePrefix: `admin${newId().slice(0, 6)}x`,
    ...(o.password ? { password: o.password } : {}),
  });
  const users = await seedUsers({ databaseUrl: o.databaseUrl, count: n, ...(o.password ? { password: o.password } : {}) });
  const client: PostsClient = createRpcClient(PostsService, { address: o.postsAddr, defaultDeadlineMs: 60_000, tls: testClientTls("posts") });
  const as = { token: admin!.token };
  const limit = o.concurrency ?? 32;
  try {
    const tag = newId().slice(0, 8);
    const team = (await client.createTeam({ name: `pop-${tag}`, displayName: `Population ${tag}`, type: "O", allowOpenInvite: true }, as)).team!;
    const everyoneId = (await client.getChannelByName({ teamId: team.id, name: "town-square" }, as)).channel!.id;
    await eachLimited(users, limit, (u) => client.addTeamMember({ teamId: team.id, userId: u.id }, as));
    const channels: SeededChannel[] = [];
    for (let c = 0; c < k; c++) {
      const ch = (await client.createChannel({ teamId: team.id, name: `pop-${tag}-${String(c)}`, displayName: `Channel ${String(c)}`, type: "O" }, as))
        .channel!;
      const memberIds: string[] = [];
      for (let j = 0; j < m; j++) memberIds.push(users[(c * m + j) % n]!.id);
      channels.push({ id: ch.id, name: ch.name, memberIds: [admin!.id, ...new Set(memberIds)] });
    }
    // Each channel's adds serialize on its row: interleave the channels so the calls in flight
    // run side by side.
    const adds: { channelId: string; userId: string }[] = [];
    for (let j = 1; j <= m; j++) for (const ch of channels) if (j < ch.memberIds.length) adds.push({ channelId: ch.id, userId: ch.memberIds[j]! });
    await eachLimited(adds, limit, (a) => client.addChannelMember(a, as));
    return {
      admin: admin!,
      users,
      teamId: team.id,
      everyone: { id: everyoneId, name: "town-square", memberIds: [admin!.id, ...users.map((u) => u.id)] },
      channels,
    };
  } finally {
    client.close();
  }
}
