export type { Bus, BusMessage, BusSubscription, BusOptions, BusState, BusStatusEvent } from "./bus.js";
export { connectBus } from "./bus.js";
export * from "./contracts/index.js";
export { encodeEvent, decodeEvent } from "./event-codec.js";
export type { DurablePublishFailure, DurablePublishResult } from "./durable-publish.js";
export { DurablePublishError, publishDurable } from "./durable-publish.js";
export type { StreamSpec, StreamMessage, StreamStart, StreamReader, StreamState } from "./streams.js";
export {
  ensureStream,
  eventStreamSpec,
  controlStreamSpec,
  deleteStreamMessage,
  followStream,
  isStreamNotFound,
  purgeStream,
  readStreamRange,
  streamState,
  waitForStream,
} from "./streams.js";
export type { KvStore, KvEntry, KvWatch, KvBucketOptions } from "./kv.js";
export { openKv, kvBucketState, KvConflictError } from "./kv.js";
export * from "./nats-config/index.js";
