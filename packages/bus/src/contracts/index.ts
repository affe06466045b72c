/**
 * Cross-process contracts, in one place: NATS subjects, JetStream streams, KV buckets and
 * their keys, NATS headers, event names, the gateway's WebSocket close codes and resume versions, each with
 * what it carries. Publishers and subscribers import these; a test fails on a subject, stream
 * or bucket name written as a literal anywhere else in the source tree.
 */
export { bytes, empty, json, protobuf, type Payload, type PayloadOf } from "./payload.js";
export {
  parseEventSubject,
  subjectContracts,
  subjectRoots,
  subjects,
  type EventFamily,
  type GatewayLoadRecord,
  type EventSubjectScope,
  type SubjectContract,
} from "./subjects.js";
export { streams, type StreamContract, type StreamName } from "./streams.js";
export {
  isolatedBucket,
  kvBuckets,
  type IpRecord,
  type KvBucketContract,
  type KvKeyContract,
  type LeaseRecord,
  type PresenceStatus,
  type StatusRecord,
} from "./kv.js";
export { natsHeaders } from "./headers.js";
export { EventName, eventData, familyEvents, type SessionRevokedData } from "./events.js";
export { CloseCode, CloseReason } from "./websocket.js";
export { answerVersion, resumeProtocol, understands } from "./resume.js";
