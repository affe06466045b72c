/**
 * Who may do what on NATS: one user per component, and every permission denies by default
 * (an allow list means "only these"). The subject families (contracts/subjects.ts) each have
 * one publisher; the JetStream API is open to a component for its own streams, buckets and
 * consumers only.
 */
import { streams } from "../contracts/streams.js";
import { subjects } from "../contracts/subjects.js";

/** The deployables, plus the users only tests and benchmarks have. */
export const natsRoles = ["gateway", "posts", "accounts", "presence", "test", "bench"] as const;
export type NatsRole = (typeof natsRoles)[number];
/** The roles of a deployment (tests and benchmarks add `test` and `bench`). */
export const deployableRoles: readonly NatsRole[] = ["gateway", "posts", "accounts", "presence"];

export interface SubjectRules {
  readonly allow: readonly string[];
  readonly deny?: readonly string[];
}

export interface NatsPermissions {
  readonly publish: SubjectRules;
  readonly subscribe: SubjectRules;
  /** May answer the requests it receives (once each, to their reply subject). */
  readonly allowResponses: boolean;
}

export interface PermissionOptions {
  /**
   * Presence's KV buckets (SB_PRESENCE_KV_BUCKET), or "any" where tests sharing one server each
   * name a bucket of their own (isolatedBucket): then presence may use any stream's API
   * except changing or emptying the event and control streams.
   */
  readonly presenceBuckets: readonly string[] | "any";
}

const API = "$JS.API";
/** The inbox prefix a role's connection uses: its replies and JetStream deliveries come there only. */
export function inboxPrefix(user: string): string {
  return `_INBOX.${user}`;
}

/** Reading a stream: its info, ordered consumers (create, next, info, delete), message get. */
function streamReader(stream: string): string[] {
  return [
    `${API}.STREAM.INFO.${stream}`,
    `${API}.STREAM.MSG.GET.${stream}`,
    `${API}.DIRECT.GET.${stream}`,
    `${API}.DIRECT.GET.${stream}.>`,
    `${API}.CONSUMER.CREATE.${stream}`,
    `${API}.CONSUMER.CREATE.${stream}.>`,
    `${API}.CONSUMER.INFO.${stream}.*`,
    `${API}.CONSUMER.MSG.NEXT.${stream}.*`,
    `${API}.CONSUMER.DELETE.${stream}.*`,
  ];
}

/** Owning a stream: reading it, creating it and changing its settings. */
function streamOwner(stream: string): string[] {
  return [...streamReader(stream), `${API}.STREAM.CREATE.${stream}`, `${API}.STREAM.UPDATE.${stream}`];
}

/**
 * A KV watch is an ordered push consumer with flow control: past a few megabytes in flight, the
 * server pauses it until the client answers on `$JS.FC.<stream>.…`. Without this the answer is
 * refused and the watch stops for good (a presence replica's cache froze after 10,000 users
 * connected at once), which no allow_responses covers, as flow control is not a request.
 */
const flowControl = (stream: string): string => `$JS.FC.${stream}.>`;

/** Owning a KV bucket: its stream, and writing its keys. */
function bucketOwner(bucket: string): string[] {
  return [...streamOwner(`KV_${bucket}`), `$KV.${bucket}.>`, flowControl(`KV_${bucket}`)];
}

/** Presence on a server whose buckets it cannot know in advance (tests only). */
function anyBucket(): SubjectRules {
  const ours = [streams.events.name, streams.control.name];
  return {
    allow: [
      "$KV.*.>",
      // A wildcard is a whole token: "KV_*" would match no stream.
      flowControl("*"),
      `${API}.STREAM.CREATE.*`,
      `${API}.STREAM.UPDATE.*`,
      `${API}.STREAM.INFO.*`,
      `${API}.STREAM.MSG.GET.*`,
      `${API}.DIRECT.GET.*`,
      `${API}.DIRECT.GET.*.>`,
      `${API}.CONSUMER.CREATE.*`,
      `${API}.CONSUMER.CREATE.*.>`,
      `${API}.CONSUMER.INFO.*.*`,
      `${API}.CONSUMER.MSG.NEXT.*.*`,
      `${API}.CONSUMER.DELETE.*.*`,
    ],
    deny: ours.flatMap((s) => [`${API}.STREAM.CREATE.${s}`, `${API}.STREAM.UPDATE.${s}`]),
  };
}

const evt = streams.events.name;
const ctl = streams.control.name;

/** The permissions of one role's user (`user` names its inbox). */
export function natsPermissions(role: NatsRole, user: string, o: PermissionOptions): NatsPermissions {
  const inbox = `${inboxPrefix(user)}.>`;
  switch (role) {
    case "gateway":
      return {
        publish: {
          allow: [
            subjects.allEphemeral,
            subjects.allResumeClaims,
            subjects.allGatewayCanaries,
            subjects.allGatewayLoads,
            `${API}.INFO`,
            ...streamReader(evt),
            ...streamReader(ctl),
          ],
        },
        subscribe: {
          allow: [
            subjects.allEvents,
            subjects.allEphemeral,
            subjects.allStatus,
            subjects.allAccounts,
            subjects.allResumeClaims,
            subjects.allGatewayCanaries,
            subjects.allGatewayLoads,
            inbox,
          ],
        },
        allowResponses: true,
      };
    case "posts":
      return {
        publish: { allow: [subjects.allEvents, subjects.allOutboxWakes, `${API}.INFO`, ...streamOwner(evt), ...streamReader(ctl)] },
        subscribe: { allow: [subjects.allOutboxWakes, inbox] },
        allowResponses: false,
      };
    case "accounts":
      return {
        publish: { allow: [subjects.allSessionControl, subjects.allAccounts, `${API}.INFO`, `${API}.STREAM.INFO.${evt}`, ...streamOwner(ctl)] },
        subscribe: { allow: [inbox] },
        allowResponses: false,
      };
    case "presence": {
      const kv = o.presenceBuckets === "any" ? anyBucket() : { allow: o.presenceBuckets.flatMap(bucketOwner) };
      return {
        publish: {
          allow: [subjects.allStatus, `${API}.INFO`, `${API}.STREAM.INFO.${evt}`, ...streamReader(ctl), ...kv.allow],
          ...(kv.deny ? { deny: kv.deny } : {}),
        },
        subscribe: { allow: [inbox] },
        allowResponses: false,
      };
    }
    case "test":
      // Tests observe everything and inject faults into the streams (purge, delete a
      // message), but publish no event: a test that stands in for a component uses its user.
      return {
        publish: {
          allow: [
            `${API}.INFO`,
            `${API}.STREAM.INFO.*`,
            `${API}.STREAM.PURGE.*`,
            `${API}.STREAM.MSG.DELETE.*`,
            `${API}.STREAM.MSG.GET.*`,
            `${API}.DIRECT.GET.>`,
            `${API}.CONSUMER.>`,
          ],
        },
        subscribe: { allow: [">"] },
        allowResponses: false,
      };
    case "bench":
      return { publish: { allow: [subjects.allBench] }, subscribe: { allow: [subjects.allBench, inbox] }, allowResponses: false };
  }
}
