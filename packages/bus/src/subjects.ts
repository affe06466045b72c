/**
 * Every NATS subject Switchboard uses is built here and nowhere else. Ids are checked before
 * they become a subject token, so no caller can inject `*`, `>` or `.`.
 */
import { isValidId } from "@switchboard/model";

const PREFIX_EVT = "sb.evt";
const PREFIX_CTL = "sb.ctl";

function id(kind: string, value: string): string {
  if (!isValidId(value)) throw new Error(`invalid ${kind} id for a subject`);
  return value;
}

export const subjects = {
  /** All events (the JetStream stream's filter). */
  allEvents: `${PREFIX_EVT}.>`,
  /** Events scoped to one channel. */
  channel: (channelId: string) => `${PREFIX_EVT}.channel.${id("channel", channelId)}`,
  /** Events scoped to one team. */
  team: (teamId: string) => `${PREFIX_EVT}.team.${id("team", teamId)}`,
  /** Events for one user's connections. */
  user: (userId: string) => `${PREFIX_EVT}.user.${id("user", userId)}`,
  /** Broadcasts to everyone. */
  everyone: `${PREFIX_EVT}.all`,

  /** All session control messages (the control stream's filter). */
  allSessionControl: `${PREFIX_CTL}.session.>`,
  /** A session was revoked (logout, revoke, revoke all). */
  sessionRevoked: (userId: string) => `${PREFIX_CTL}.session.revoked.${id("user", userId)}`,

  /** "Rows are waiting in this schema's outbox": wakes the relay leader (best effort; it also polls). */
  outboxWake: (schema: string) => {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error("invalid schema name for a subject");
    return `${PREFIX_CTL}.outbox.${schema}`;
  },

} as const;

/** Parses the scope of an event subject, or undefined if the subject is not an event subject. */
export function parseEventSubject(subject: string): { scope: "channel" | "team" | "user"; id: string } | { scope: "all" } | undefined {
  if (subject === subjects.everyone) return { scope: "all" };
  const m = /^sb\.evt\.(channel|team|user)\.([a-z0-9]{26})$/.exec(subject);
  return m ? { scope: m[1] as "channel" | "team" | "user", id: m[2]! } : undefined;
}
