/**
 * Who is where on this gateway: users with connections here, and for every channel and team
 * the local users belonging to it. It holds a NATS subscription per subject those users need
 * (reference-counted), and nothing else.
 */
import { subjects } from "@switchboard/bus";
import { MembershipChange_Kind as Kind, type MembershipChange } from "@switchboard/proto/events";
import type { SubjectTable } from "./subject-table.js";
import { UserRoutes } from "./user-routes.js";

export interface MembershipResult {
  /** A channel subject this gateway did not hold before: events published just before the
   * subscription reached the server may be missing and must be back-filled. */
  readonly newChannelSubject?: string;
}

export class RouteIndex {
  readonly users = new Map<string, UserRoutes>();
  readonly channelUsers = new Map<string, Set<UserRoutes>>();
  readonly teamUsers = new Map<string, Set<UserRoutes>>();

  constructor(
    private readonly subs: SubjectTable,
    /** The last local user of a channel left it (its per-channel state can go). */
    private readonly onChannelDropped: (channelId: string) => void = () => undefined,
  ) {}

  /** Starts tracking a user: subscribes their own subject first, so no change to their
   * memberships published after this point can be missed. */
  addUser(userId: string): UserRoutes {
    const r = new UserRoutes(userId);
    this.users.set(userId, r);
    // Posts's events, presence's status changes and accounts' user events: one family each.
    this.subs.acquire(subjects.user(userId));
    this.subs.acquire(subjects.userStatus(userId));
    this.subs.acquire(subjects.accountsUser(userId));
    return r;
  }

  removeUser(r: UserRoutes): void {
    if (this.users.get(r.userId) !== r) return;
    this.users.delete(r.userId);
    for (const c of [...r.channels.keys()]) this.leaveChannel(r, c);
    for (const t of [...r.teams]) this.leaveTeam(r, t);
    this.subs.release(subjects.user(r.userId));
    this.subs.release(subjects.userStatus(r.userId));
    this.subs.release(subjects.accountsUser(r.userId));
  }

  /**
   * The user is a member of the channel since the change numbered `since` (0: unknown).
   * Returns true when the channel subject was newly subscribed.
   */
  joinChannel(r: UserRoutes, channelId: string, since: number): boolean {
    const known = r.channels.get(channelId);
    if (known !== undefined) {
      // An add is only published for a user who was not a member: a later one than the
      // membership known here (loaded at connect, or a removal not yet seen) starts it anew.
      if (since > known) r.channels.set(channelId, since);
      return false;
    }
    r.channels.set(channelId, since);
    r.joinedAtMs.set(channelId, Date.now());
    let set = this.channelUsers.get(channelId);
    if (!set) {
      set = new Set();
      this.channelUsers.set(channelId, set);
    }
    set.add(r);
    // The gateways' ephemeral events (typing) come on a family of their own.
    this.subs.acquire(subjects.channelEphemeral(channelId));
    return this.subs.acquire(subjects.channel(channelId));
  }

  leaveChannel(r: UserRoutes, channelId: string): void {
    if (!r.channels.delete(channelId)) return;
    r.joinedAtMs.delete(channelId);
    const set = this.channelUsers.get(channelId);
    set?.delete(r);
    if (set && set.size === 0) {
      this.channelUsers.delete(channelId);
      this.onChannelDropped(channelId);
    }
    this.subs.release(subjects.channel(channelId));
    this.subs.release(subjects.channelEphemeral(channelId));
  }

  joinTeam(r: UserRoutes, teamId: string): void {
    if (r.teams.has(teamId)) return;
    r.teams.add(teamId);
    let set = this.teamUsers.get(teamId);
    if (!set) {
      set = new Set();
      this.teamUsers.set(teamId, set);
    }
    set.add(r);
    this.subs.acquire(subjects.team(teamId));
  }

  leaveTeam(r: UserRoutes, teamId: string): void {
    if (!r.teams.delete(teamId)) return;
    const set = this.teamUsers.get(teamId);
    set?.delete(r);
    if (set && set.size === 0) this.teamUsers.delete(teamId);
    this.subs.release(subjects.team(teamId));
  }

  /**
   * Applies a membership fact (idempotent: both copies of a change carry it); `seq` is the
   * change's channel_seq (0: none).
   */
  apply(m: MembershipChange, seq: number): MembershipResult {
    const r = this.users.get(m.userId);
    if (!r) return {};
    switch (m.kind) {
      case Kind.CHANNEL_ADDED:
        if (this.joinChannel(r, m.channelId, seq)) return { newChannelSubject: subjects.channel(m.channelId) };
        return {};
      case Kind.CHANNEL_REMOVED:
        // A removal older than the user's membership (a late copy, released by a repair after
        // the user was added again) no longer holds.
        if (seq > 0 && (r.channels.get(m.channelId) ?? 0) > seq) return {};
        this.leaveChannel(r, m.channelId);
        return {};
      case Kind.TEAM_ADDED:
        this.joinTeam(r, m.teamId);
        return {};
      case Kind.TEAM_REMOVED:
        this.leaveTeam(r, m.teamId);
        return {};
      default:
        return {};
    }
  }
}
