/**
 * Every NATS subject Switchboard uses is built here and nowhere else. Ids are checked before
 * they become a subject token, so no caller can inject `*`, `>` or `.`.
 */
import { isValidId } from "@switchboard/model";
import { EventSchema } from "@switchboard/proto/events";
import { ResumeClaimSchema, ResumeHandoverSchema } from "@switchboard/proto/gateway";
import { bytes, empty, json, protobuf, type Payload } from "./payload.js";

/** The roots of every subject: a subject literal starting with one of these belongs here. */
export const subjectRoots = {
  /** Durable events, published by posts only (stream SB_EVT). */
  events: "sb.evt",
  /** Ephemeral events a gateway publishes (typing): core NATS, never stored. */
  ephemeral: "sb.eph",
  /** Status changes, published by presence only (stored in SB_EVT). */
  status: "sb.status",
  /** User-scoped account events, published by accounts only (stored in SB_EVT). */
  accounts: "sb.acct",
  control: "sb.ctl",
  bench: "sb.bench",
} as const;

const PREFIX_EVT = subjectRoots.events;
const PREFIX_EPH = subjectRoots.ephemeral;
const PREFIX_STATUS = subjectRoots.status;
const PREFIX_ACCT = subjectRoots.accounts;
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

  /** Every gateway-published ephemeral event (stored: a new channel subscription reads its channel's back). */
  allEphemeral: `${PREFIX_EPH}.>`,
  /** Ephemeral events of one channel, published by gateways (typing only: see eventFamilies). */
  channelEphemeral: (channelId: string) => `${PREFIX_EPH}.channel.${id("channel", channelId)}`,
  /** Every status change (stored in the event stream). */
  allStatus: `${PREFIX_STATUS}.>`,
  /** One user's status changes, published by presence only. */
  userStatus: (userId: string) => `${PREFIX_STATUS}.user.${id("user", userId)}`,
  /** Every user-scoped account event (stored in the event stream). */
  allAccounts: `${PREFIX_ACCT}.>`,
  /** One user's account events (preferences, profile), published by accounts only. */
  accountsUser: (userId: string) => `${PREFIX_ACCT}.user.${id("user", userId)}`,

  /** All session control messages (the control stream's filter). */
  allSessionControl: `${PREFIX_CTL}.session.>`,
  /** A session was revoked (logout, revoke, revoke all). */
  sessionRevoked: (userId: string) => `${PREFIX_CTL}.session.revoked.${id("user", userId)}`,

  /** Every outbox wake-up. */
  allOutboxWakes: `${PREFIX_CTL}.outbox.*`,
  /** "Rows are waiting in this schema's outbox": wakes the relay leader (best effort; it also polls). */
  outboxWake: (schema: string) => {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error("invalid schema name for a subject");
    return `${PREFIX_CTL}.outbox.${schema}`;
  },

  /** Every connection's resume claims: each gateway subscribes, only the holder answers. */
  allResumeClaims: `${PREFIX_CTL}.resume.*`,
  /** A claim for one connection's buffered events (request/reply, see resumeProtocol). */
  resumeClaim: (connectionId: string) => `${PREFIX_CTL}.resume.${id("connection", connectionId)}`,
  /**
   * A gateway's canary: it publishes here every second and expects to hear itself, which
   * tells a connection that is up but delivers nothing (one subject per gateway instance).
   */
  gatewayCanary: (instanceId: string) => `${PREFIX_CTL}.canary.${id("gateway instance", instanceId)}`,
  /** Every gateway's canary (what a gateway's NATS user may use). */
  allGatewayCanaries: `${PREFIX_CTL}.canary.*`,
  /**
   * A gateway's load report: its open sockets, every few seconds (core NATS, never stored).
   * Every gateway hears every other's, to rebalance after a scale-out.
   */
  gatewayLoad: (instanceId: string) => `${PREFIX_CTL}.load.${id("gateway instance", instanceId)}`,
  /** Every gateway's load report (what a gateway publishes to and subscribes). */
  allGatewayLoads: `${PREFIX_CTL}.load.*`,

  /** The benchmark's floor: ready-made WebSocket frames for a bare uWebSockets.js server (bench only). */
  benchRawFrames: `${subjectRoots.bench}.raw`,
  /** Everything of the benchmarks. */
  allBench: `${subjectRoots.bench}.>`,
} as const;

/** What a gateway's load report carries (JSON). */
export interface GatewayLoadRecord {
  /** The gateway instance (the subject's last token). */
  readonly instance: string;
  /** WebSocket connections with an open socket on it now. */
  readonly sockets: number;
  /** False once it drains (it leaves the fleet: the others stop counting it at once). */
  readonly accepting: boolean;
}

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
  channelEphemeral: { pattern: `${PREFIX_EPH}.channel.<channel id>`, payload: event, stream: "events" },
  userStatus: { pattern: `${PREFIX_STATUS}.user.<user id>`, payload: event, stream: "events" },
  accountsUser: { pattern: `${PREFIX_ACCT}.user.<user id>`, payload: event, stream: "events" },
  sessionRevoked: { pattern: `${PREFIX_CTL}.session.revoked.<user id>`, payload: event, stream: "control" },
  outboxWake: { pattern: `${PREFIX_CTL}.outbox.<schema>`, payload: empty, stream: null },
  resumeClaim: {
    pattern: `${PREFIX_CTL}.resume.<connection id>`,
    payload: protobuf(ResumeClaimSchema),
    stream: null,
    reply: protobuf(ResumeHandoverSchema),
  },
  gatewayCanary: { pattern: `${PREFIX_CTL}.canary.<gateway instance id>`, payload: bytes("the probe's number, decimal ASCII"), stream: null },
  gatewayLoad: { pattern: `${PREFIX_CTL}.load.<gateway instance id>`, payload: json<GatewayLoadRecord>("GatewayLoadRecord"), stream: null },
  benchRawFrames: { pattern: subjects.benchRawFrames, payload: bytes("one Mattermost WebSocket frame, JSON text"), stream: null },
} as const satisfies Record<string, SubjectContract<unknown>>;

/**
 * Which publisher a subject family belongs to: `evt` (posts, durable), `eph` (gateways,
 * ephemeral), `status` (presence), `acct` (accounts). The gateway accepts from a family
 * other than `evt` only the event kinds eventFamilies lists for it.
 */
export type EventFamily = "evt" | "eph" | "status" | "acct";

export type EventSubjectScope =
  { readonly family: EventFamily; readonly scope: "channel" | "team" | "user"; readonly id: string } | { readonly family: "evt"; readonly scope: "all" };

const esc = (s: string): string => s.replace(/\./g, "\\.");
const EVENT_SUBJECT = new RegExp(
  `^(?:(${esc(PREFIX_EVT)})\\.(channel|team|user)|(${esc(PREFIX_EPH)})\\.(channel)|(${esc(PREFIX_STATUS)})\\.(user)|(${esc(PREFIX_ACCT)})\\.(user))\\.([a-z0-9]{26})$`,
);
const FAMILY_OF: Record<string, EventFamily> = { [PREFIX_EVT]: "evt", [PREFIX_EPH]: "eph", [PREFIX_STATUS]: "status", [PREFIX_ACCT]: "acct" };

/** Parses the family and scope of an event subject, or undefined if the subject is not an event subject. */
export function parseEventSubject(subject: string): EventSubjectScope | undefined {
  if (subject === subjects.everyone) return { family: "evt", scope: "all" };
  const m = EVENT_SUBJECT.exec(subject);
  if (!m) return undefined;
  for (let i = 1; i < 9; i += 2) {
    if (m[i] !== undefined) return { family: FAMILY_OF[m[i]!]!, scope: m[i + 1] as "channel" | "team" | "user", id: m[9]! };
  }
  return undefined;
}
