/**
 * What each client must get and what it got, by event identity, for a test that knows exactly
 * who must receive each event it causes (the membership test's model). Counts, not sets: one
 * identity may recur (a user added to a channel, removed, and added again). Waiters let the
 * test fence on an event: go on once every one of its recipients has it.
 */
import { eventIdentity } from "@switchboard/testkit";

type Counts = Map<string, number>;

export interface BookReport {
  /** Expected copies that never arrived, over every client. */
  readonly missing: number;
  /** Copies of events the client was not owed (not a member when it was made, or not for it). */
  readonly leaked: number;
  /** Copies beyond the expected count. */
  readonly duplicates: number;
  /** Expected copies, over every client. */
  readonly expected: number;
  /** Copies received of the watched kinds. */
  readonly received: number;
  /** Up to 20 lines naming what differs (user label, identity). */
  readonly samples: readonly string[];
}

/** The kinds the book watches: every one the membership test causes. */
const WATCHED = new Set([
  "posted",
  "reaction_added",
  "typing",
  "user_added",
  "user_removed",
  "direct_added",
  "leave_team",
  "added_to_team",
  "channel_updated",
  "channel_converted",
]);

/** The identity of a frame of a watched kind; typing (which the ledger does not check) by its sender and parent id. */
function frameKey(frame: Readonly<Record<string, unknown>>): string | undefined {
  const event = frame.event;
  if (typeof event !== "string" || !WATCHED.has(event)) return undefined;
  const data = (frame.data ?? {}) as Record<string, unknown>;
  const b = (frame.broadcast ?? {}) as Record<string, unknown>;
  const channelId = typeof b.channel_id === "string" ? b.channel_id : "";
  if (event === "typing") return `typing|${channelId}|${String(data.user_id)}:${String(data.parent_id)}`;
  return eventIdentity(event, data, channelId)?.id;
}

export class FenceBook {
  private readonly got = new Map<string, Counts>();
  private readonly want = new Map<string, Counts>();
  private readonly waiters = new Map<string, (() => void)[]>();
  /** Frames of watched kinds that arrived before start(): setup's own events, not checked. */
  ignoredBeforeStart = 0;
  private started = false;

  constructor(private readonly labels: ReadonlyMap<string, string>) {}

  /** From now on every watched frame counts. */
  start(): void {
    this.started = true;
  }

  /** A client's frame. */
  received(userId: string, frame: Readonly<Record<string, unknown>>): void {
    const key = frameKey(frame);
    if (key === undefined) return;
    if (!this.started) {
      this.ignoredBeforeStart++;
      return;
    }
    const n = bump(this.got, userId, key);
    const w = this.waiters.get(`${userId} ${key}`);
    if (w && n >= count(this.want, userId, key)) {
      this.waiters.delete(`${userId} ${key}`);
      for (const f of w) f();
    }
  }

  /** The event named `key` is owed, once more, to each of `recipients`. */
  expect(key: string, recipients: Iterable<string>): string[] {
    const users = [...recipients];
    for (const u of users) bump(this.want, u, key);
    return users;
  }

  /** Resolves true once each of `users` has every copy of `key` owed to them so far, false at the deadline. */
  async arrived(key: string, users: readonly string[], timeoutMs: number): Promise<boolean> {
    const pending = users.filter((u) => count(this.got, u, key) < count(this.want, u, key));
    if (pending.length === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const all = Promise.all(
      pending.map(
        (u) =>
          new Promise<void>((resolve) => {
            const k = `${u} ${key}`;
            let l = this.waiters.get(k);
            if (!l) this.waiters.set(k, (l = []));
            l.push(resolve);
          }),
      ),
    ).then(() => true);
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([all, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Whether every client has everything owed to it (it may have more: check() says). */
  complete(): boolean {
    for (const [u, want] of this.want) for (const [k, n] of want) if (count(this.got, u, k) < n) return false;
    return true;
  }

  check(): BookReport {
    let missing = 0;
    let leaked = 0;
    let duplicates = 0;
    let expected = 0;
    let received = 0;
    const samples: string[] = [];
    const note = (s: string): void => {
      if (samples.length < 20) samples.push(s);
    };
    const users = new Set([...this.want.keys(), ...this.got.keys()]);
    for (const u of users) {
      const want = this.want.get(u) ?? new Map<string, number>();
      const got = this.got.get(u) ?? new Map<string, number>();
      const label = this.labels.get(u) ?? u;
      for (const [k, n] of want) {
        expected += n;
        const g = got.get(k) ?? 0;
        if (g < n) {
          missing += n - g;
          note(`${label} missed ${k} (${String(g)} of ${String(n)})`);
        }
      }
      for (const [k, g] of got) {
        received += g;
        const n = want.get(k) ?? 0;
        if (n === 0) {
          leaked += g;
          note(`${label} was sent ${k}, not owed to it`);
        } else if (g > n) {
          duplicates += g - n;
          note(`${label} got ${k} ${String(g)} times, owed ${String(n)}`);
        }
      }
    }
    return { missing, leaked, duplicates, expected, received, samples };
  }
}

function count(m: Map<string, Counts>, user: string, key: string): number {
  return m.get(user)?.get(key) ?? 0;
}

function bump(m: Map<string, Counts>, user: string, key: string): number {
  let c = m.get(user);
  if (!c) m.set(user, (c = new Map<string, number>()));
  const n = (c.get(key) ?? 0) + 1;
  c.set(key, n);
  return n;
}
