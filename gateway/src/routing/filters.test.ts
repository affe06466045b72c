import { create } from "@bufbuild/protobuf";
import { BroadcastSchema, EventSchema, type Event } from "@switchboard/proto/events";
import type { Actor } from "@switchboard/tokens";
import { describe, expect, it } from "vitest";
import { Connection } from "../connections/connection.js";
import { eventFilter } from "./filters.js";
import { UserRoutes } from "./user-routes.js";

/** Mattermost's WebConn.ShouldSendEvent, line by line, for one connection of one user. */
function shouldSendEvent(c: Connection, r: UserRoutes, ev: Event): boolean {
  const b = ev.broadcast;
  if (!b) return true;
  if (b.containsSanitizedData && c.actor.isSystemAdmin) return false;
  if (b.containsSensitiveData && !c.actor.isSystemAdmin) return false;
  if (b.connectionId !== "") return c.id === b.connectionId;
  if (b.omitConnectionId !== "" && c.id === b.omitConnectionId) return false;
  if (b.userId !== "") return c.userId === b.userId;
  if (b.omitUsers.length > 0 && b.omitUsers.includes(c.userId)) return false;
  if (b.channelId !== "") {
    if (["typing", "reaction_added", "reaction_removed"].includes(ev.event)) {
      const notInChannel = c.activeChannelId !== null && c.activeChannelId !== b.channelId;
      const notInThread =
        c.activeRhsThreadChannelId !== null &&
        c.activeRhsThreadChannelId !== b.channelId &&
        c.activeThreadViewChannelId !== null &&
        c.activeThreadViewChannelId !== b.channelId;
      if (notInChannel && notInThread) return false;
    }
    return r.channels.has(b.channelId);
  }
  if (b.teamId !== "") return r.teams.has(b.teamId);
  return true;
}

const id = (c: string) => c.repeat(26);
const [U1, U2, CH, OTHER, TEAM, C1, C2] = [id("a"), id("b"), id("c"), id("d"), id("t"), id("x"), id("y")];

function connection(connId: string, userId: string, admin: boolean, active: string | null, thread: string | null): Connection {
  const actor: Actor = {
    userId,
    sessionId: id("s"),
    roles: admin ? "system_admin system_user" : "system_user",
    isSystemAdmin: admin,
    expiresAt: Date.now() + 60_000,
  };
  const c = new Connection(connId, actor, "token", { replayEvents: 8, queueLimit: 8, maxBufferedBytes: 1 << 20 });
  c.activeChannelId = active;
  c.activeRhsThreadChannelId = thread;
  c.activeThreadViewChannelId = thread;
  return c;
}

describe("eventFilter", () => {
  it("decides every combination of broadcast fields exactly as Mattermost's ShouldSendEvent", () => {
    const inChannel = new UserRoutes(U1);
    inChannel.channels.set(CH, 0);
    inChannel.teams.add(TEAM);
    const outside = new UserRoutes(U2);
    const conns: [Connection, UserRoutes][] = [];
    for (const [r, uid] of [
      [inChannel, U1],
      [outside, U2],
    ] as const) {
      for (const connId of [C1, C2]) {
        for (const admin of [false, true]) {
          for (const active of [null, CH, OTHER]) for (const thread of [null, CH, OTHER]) conns.push([connection(connId, uid, admin, active, thread), r]);
        }
      }
    }
    const wrong: string[] = [];
    let cases = 0;
    let passes = 0;
    for (const event of ["posted", "typing", "reaction_added"]) {
      for (const sanitized of [false, true])
        for (const sensitive of [false, true])
          for (const connectionId of ["", C1])
            for (const omitConnectionId of ["", C2])
              for (const userId of ["", U1])
                for (const omitUsers of [[], [U2], [U1]])
                  for (const channelId of ["", CH, OTHER])
                    for (const teamId of ["", TEAM]) {
                      const broadcast = create(BroadcastSchema, {
                        containsSanitizedData: sanitized,
                        containsSensitiveData: sensitive,
                        connectionId,
                        omitConnectionId,
                        userId,
                        omitUsers,
                        channelId,
                        teamId,
                      });
                      const ev = create(EventSchema, { event, broadcast });
                      const f = eventFilter(ev);
                      // The hub's case: candidates are the channel's (or team's) local members.
                      const fm = eventFilter(ev, true);
                      const fromMembers = (r: UserRoutes) =>
                        userId === "" && (channelId !== "" ? r.channels.has(channelId) : teamId !== "" && r.teams.has(teamId));
                      for (const [c, r] of conns) {
                        const g = fromMembers(r) ? fm : f;
                        const got = (g.user === undefined || g.user(r)) && (g.conn === undefined || g.conn(c));
                        if (got !== shouldSendEvent(c, r, ev) && wrong.length < 5) {
                          wrong.push(
                            `${event} ${JSON.stringify(broadcast)} conn ${c.id[0]} user ${r.userId[0]} admin ${c.actor.isSystemAdmin} active ${c.activeChannelId?.[0]} thread ${c.activeRhsThreadChannelId?.[0]}: got ${got}`,
                          );
                        }
                        cases++;
                        if (got) passes++;
                      }
                    }
    }
    expect(wrong).toEqual([]);
    expect(cases).toBeGreaterThan(100_000);
    expect(passes).toBeGreaterThan(0);
    expect(passes).toBeLessThan(cases);
  });

  it("leaves nothing to check per connection for a plain channel event, nor per user when the candidates are its members", () => {
    const ev = create(EventSchema, { event: "posted", broadcast: create(BroadcastSchema, { channelId: CH }) });
    const f = eventFilter(ev);
    expect(f.conn).toBeUndefined();
    expect(f.user).toBeDefined();
    expect(eventFilter(ev, true)).toEqual({ user: undefined, conn: undefined });
    expect(eventFilter(create(EventSchema, { event: "hello" }))).toEqual({ user: undefined, conn: undefined });
  });

  it("passes a numbered channel event only to users who were members when it was made", () => {
    const since5 = new UserRoutes(U1);
    since5.channels.set(CH, 5);
    const loaded = new UserRoutes(U2); // membership loaded at connect: its number is unknown
    loaded.channels.set(CH, 0);
    const outside = new UserRoutes(id("e"));
    const at = (seq: number) => create(EventSchema, { event: "posted", broadcast: create(BroadcastSchema, { channelId: CH }), channelSeq: BigInt(seq) });
    for (const members of [false, true]) {
      const passes = (seq: number) => [since5, loaded, outside].filter((r) => eventFilter(at(seq), members).user?.(r) ?? true).map((r) => r.userId);
      expect(passes(4)).toEqual([U2]);
      expect(passes(5)).toEqual([U1, U2]);
      expect(passes(6)).toEqual([U1, U2]);
    }
    // Unnumbered (no channel_seq): plain membership.
    expect([since5, loaded, outside].filter((r) => eventFilter(at(0)).user!(r)).map((r) => r.userId)).toEqual([U1, U2]);
  });
});
