/**
 * Every NATS subject Switchboard uses is built here and nowhere else. Ids are checked before
 * they become a subject token, so no caller can inject `*`, `>` or `.`.
 */
import { isValidId } from "@switchboard/model";
import { EventSchema } from "@switchboard/proto/events";
import { ResumeClaimSchema, ResumeHandoverSchema } from "@switchboard/proto/gateway";
import { bytes, empty, protobuf, type Payload } from "./payload.js";

/** The roots of every subject: a subject literal starting with one of these belongs here. */
export const subjectRoots = {
  events: "sb.evt",
  control: "sb.ctl",
  bench: "sb.bench",
} as const;

const PREFIX_EVT = subjectRoots.events;
const PREFIX_CTL = subjectRoots.control;

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

  /** Every connection's resume claims: each gateway subscribes, only the holder answers. */
  allResumeClaims: `${PREFIX_CTL}.resume.*`,
  /** A claim for one connection's buffered events (request/reply, see resumeProtocol). */
  resumeClaim: (connectionId: string) => `${PREFIX_CTL}.resume.${id("connection", connectionId)}`,

  /** The benchmark's floor: ready-made WebSocket frames for a bare uWebSockets.js server (bench only). */
  benchRawFrames: `${subjectRoots.bench}.raw`,
} as const;

export interface SubjectContract<T> {
  /** The subject's form, `<...>` for a token built from a validated value. */
  readonly pattern: string;
  readonly payload: Payload<T>;
  /** Core NATS only (at most once), or the stream that stores it. */
  readonly stream: "events" | "control" | null;
  /** For a request/reply subject: what the answer carries. */
  readonly reply?: Payload<unknown>;
}

const event = protobuf(EventSchema);

/** What each subject carries. */
export const subjectContracts = {
  channel: { pattern: `${PREFIX_EVT}.channel.<channel id>`, payload: event, stream: "events" },
  team: { pattern: `${PREFIX_EVT}.team.<team id>`, payload: event, stream: "events" },
  user: { pattern: `${PREFIX_EVT}.user.<user id>`, payload: event, stream: "events" },
  everyone: { pattern: subjects.everyone, payload: event, stream: "events" },
  sessionRevoked: { pattern: `${PREFIX_CTL}.session.revoked.<user id>`, payload: event, stream: "control" },
  outboxWake: { pattern: `${PREFIX_CTL}.outbox.<schema>`, payload: empty, stream: null },
  resumeClaim: {
    pattern: `${PREFIX_CTL}.resume.<connection id>`,
    payload: protobuf(ResumeClaimSchema),
    stream: null,
    reply: protobuf(ResumeHandoverSchema),
  },
  benchRawFrames: { pattern: subjects.benchRawFrames, payload: bytes("one Mattermost WebSocket frame, JSON text"), stream: null },
} as const satisfies Record<string, SubjectContract<unknown>>;

const EVENT_SUBJECT = new RegExp(`^${PREFIX_EVT.replace(/\./g, "\\.")}\\.(channel|team|user)\\.([a-z0-9]{26})$`);

/** Parses the scope of an event subject, or undefined if the subject is not an event subject. */
export function parseEventSubject(subject: string): { scope: "channel" | "team" | "user"; id: string } | { scope: "all" } | undefined {
  if (subject === subjects.everyone) return { scope: "all" };
  const m = EVENT_SUBJECT.exec(subject);
  return m ? { scope: m[1] as "channel" | "team" | "user", id: m[2]! } : undefined;
}
