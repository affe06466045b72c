/**
 * The truth set: every event the posts outbox wrote, and who must receive each one, from
 * PostgreSQL alone. A tap (a trigger on the outbox, installed by the test into its own
 * database) copies each outbox row into a ledger table as it is inserted, in the inserting
 * transaction: so the ledger holds exactly the committed events, whatever the relay, NATS or
 * the gateways did with them. Recipients follow membership as it was at each event: the
 * membership tables as they were when the tap was installed (read in the same transaction
 * that installs it, so nothing falls between the two), then every membership change the
 * ledger records, applied in the order the outbox wrote them (per channel, commit order).
 */
import pg from "pg";
import { fromBinary } from "@bufbuild/protobuf";
import { EventSchema, MembershipChange_Kind, type Broadcast, type Event } from "@switchboard/proto/events";
import { eventIdentity, type EventIdentity } from "./event-identity.js";

const LEDGER = "sb_ledger";

export interface TruthEvent {
  /** Position in the ledger (outbox insert order). */
  readonly ledgerId: number;
  readonly event: string;
  readonly identity: EventIdentity;
  /** The change's number in its channel's sequence; undefined outside any channel's sequence. */
  readonly channelSeq: number | undefined;
  /** Who must receive it. */
  readonly recipients: ReadonlySet<string>;
  /** When the outbox row was written (Unix ms). */
  readonly createdAt: number;
}

export interface Truth {
  /** Every event the outbox wrote since the tap, in ledger order. */
  readonly events: readonly TruthEvent[];
}

export interface LedgerTap {
  /**
   * The newest ledger position now: a check `from` it expects only what is written later. Take
   * it while nothing is being written (a row inserted before it but committed after it would
   * fall before the window).
   */
  mark(): Promise<number>;
  truth(): Promise<Truth>;
  /** Removes the tap (the ledger stays, with the test's database). */
  close(): Promise<void>;
}

interface LedgerRow {
  id: string;
  payload: Buffer;
  channel_seq: string | null;
  created_at: string;
}

/**
 * Installs the tap on the posts schema of this database (posts must have migrated it) and
 * returns it. One tap per database.
 */
export async function installLedgerTap(databaseUrl: string): Promise<LedgerTap> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  // An idle connection cut by a PostgreSQL restart is an error event on the pool: without a
  // listener it would crash the test; the next query opens a new connection.
  pool.on("error", () => undefined);
  try {
    const c = await pool.connect();
    try {
      await c.query("BEGIN");
      await c.query(`CREATE SCHEMA ${LEDGER}`);
      await c.query(`CREATE TABLE ${LEDGER}.events (
        id bigserial PRIMARY KEY, outbox_id bigint NOT NULL, payload bytea NOT NULL, channel_seq bigint, created_at bigint NOT NULL)`);
      await c.query(`CREATE FUNCTION ${LEDGER}.tap() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO ${LEDGER}.events (outbox_id, payload, channel_seq, created_at) VALUES (NEW.id, NEW.payload, NEW.channel_seq, NEW.created_at);
          RETURN NULL;
        END $$`);
      // The trigger first: creating it waits for the outbox writers in flight, so the snapshot
      // below sees every membership whose events were written before the tap.
      await c.query(`CREATE TRIGGER sb_ledger_tap AFTER INSERT ON posts.outbox FOR EACH ROW EXECUTE FUNCTION ${LEDGER}.tap()`);
      await c.query(`CREATE TABLE ${LEDGER}.channel_members AS SELECT channel_id, user_id FROM posts.channel_members`);
      await c.query(`CREATE TABLE ${LEDGER}.team_members AS SELECT team_id, user_id FROM posts.team_members WHERE delete_at = 0`);
      await c.query("COMMIT");
    } catch (e: unknown) {
      await c.query("ROLLBACK").catch(() => undefined);
      throw e;
    } finally {
      c.release();
    }
  } catch (e: unknown) {
    await pool.end();
    throw e;
  }
  return {
    async mark() {
      return Number((await pool.query<{ n: string }>(`SELECT coalesce(max(id), 0) AS n FROM ${LEDGER}.events`)).rows[0]!.n);
    },
    truth: () => readTruth(pool),
    async close() {
      await pool.query(`DROP TRIGGER IF EXISTS sb_ledger_tap ON posts.outbox`).catch(() => undefined);
      await pool.end();
    },
  };
}

/**
 * Reads the whole ledger every time: ids are taken at insert but become visible at commit, so
 * a reader that went on from the last id it saw could skip a row committed late. Within one
 * channel the order is the commit order (writers hold the channel's row lock).
 */
async function readTruth(pool: pg.Pool): Promise<Truth> {
  const [rows, chm, tm, admins] = await Promise.all([
    pool.query<LedgerRow>(`SELECT id, payload, channel_seq, created_at FROM ${LEDGER}.events ORDER BY id`),
    pool.query<{ channel_id: string; user_id: string }>(`SELECT channel_id, user_id FROM ${LEDGER}.channel_members`),
    pool.query<{ team_id: string; user_id: string }>(`SELECT team_id, user_id FROM ${LEDGER}.team_members`),
    pool.query<{ id: string }>(`SELECT id FROM accounts.users WHERE ' ' || roles || ' ' LIKE '% system_admin %'`),
  ]);
  const membership = new Membership();
  for (const r of chm.rows) membership.add(membership.channels, r.channel_id, r.user_id);
  for (const r of tm.rows) membership.add(membership.teams, r.team_id, r.user_id);
  const adminIds = new Set(admins.rows.map((r) => r.id));
  const events: TruthEvent[] = [];
  for (const r of rows.rows) {
    const ev = fromBinary(EventSchema, r.payload);
    const b = ev.broadcast;
    const identity = eventIdentity(ev.event, parseData(ev), b?.channelId ?? "");
    membership.apply(ev);
    if (!identity || !b) continue;
    events.push({
      ledgerId: Number(r.id),
      event: ev.event,
      identity,
      channelSeq: r.channel_seq === null ? undefined : Number(r.channel_seq),
      recipients: recipients(b, membership, adminIds),
      createdAt: Number(r.created_at),
    });
  }
  return { events };
}

function parseData(ev: Event): Record<string, unknown> {
  try {
    return JSON.parse(Buffer.from(ev.data).toString()) as Record<string, unknown>;
  } catch {
    return {};
  }
}

class Membership {
  readonly channels = new Map<string, Set<string>>();
  readonly teams = new Map<string, Set<string>>();

  add(m: Map<string, Set<string>>, key: string, userId: string): void {
    let s = m.get(key);
    if (!s) m.set(key, (s = new Set()));
    s.add(userId);
  }

  /** The membership fact an edge applies before delivering the event (and the event's copies). */
  apply(ev: Event): void {
    const m = ev.membership;
    if (!m) return;
    switch (m.kind) {
      case MembershipChange_Kind.CHANNEL_ADDED:
        this.add(this.channels, m.channelId, m.userId);
        break;
      case MembershipChange_Kind.CHANNEL_REMOVED:
        this.channels.get(m.channelId)?.delete(m.userId);
        break;
      case MembershipChange_Kind.TEAM_ADDED:
        this.add(this.teams, m.teamId, m.userId);
        break;
      case MembershipChange_Kind.TEAM_REMOVED:
        this.teams.get(m.teamId)?.delete(m.userId);
        break;
      default:
    }
  }
}

/** Mattermost's broadcast rules (docs/protocol.md §7.2), per user: who must get this event. */
function recipients(b: Broadcast, m: Membership, adminIds: ReadonlySet<string>): Set<string> {
  let users: Iterable<string>;
  if (b.connectionId !== "") users = [];
  else if (b.userId !== "") users = [b.userId];
  else if (b.channelId !== "") users = m.channels.get(b.channelId) ?? [];
  else if (b.teamId !== "") users = m.teams.get(b.teamId) ?? [];
  else users = [];
  const omit = new Set(b.omitUsers);
  const out = new Set<string>();
  for (const u of users) {
    if (omit.has(u)) continue;
    if (b.containsSanitizedData && adminIds.has(u)) continue;
    if (b.containsSensitiveData && !adminIds.has(u)) continue;
    out.add(u);
  }
  return out;
}
