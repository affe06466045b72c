/**
 * What one HTTP/2 server lets a peer hold or make it do: the limits against hostile peers
 * (h2/connection.ts applies them per connection, h2-server.ts per server). Each is a setting
 * (SB_RPC_H2_*, declared in @switchboard/runtime's grpcSettings from H2_LIMIT_SETTINGS), with a
 * default that no well-behaved gRPC client comes near.
 */

export interface H2Limits {
  /** SETTINGS_MAX_CONCURRENT_STREAMS; a stream counts until its handler has finished, not only until it closes. */
  readonly maxConcurrentStreams: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE: larger requests are answered RESOURCE_EXHAUSTED. */
  readonly maxHeaderListBytes: number;
  /** CONTINUATION frames one header block may have (empty ones count too); more: GOAWAY ENHANCE_YOUR_CALM. */
  readonly maxContinuationFrames: number;
  /** A header block unfinished (no END_HEADERS) this long ends the connection. */
  readonly headerBlockTimeoutMs: number;
  /** Request bytes one connection may hold (messages being received, or in handlers); beyond: RESOURCE_EXHAUSTED. */
  readonly connectionBufferBytes: number;
  /** The same over every connection of the server. */
  readonly serverBufferBytes: number;
  /** Stream resets, the peer's RST_STREAM and those it makes us send alike: a bucket of this many... */
  readonly resetBurst: number;
  /** ...refilled at this rate; empty: GOAWAY ENHANCE_YOUR_CALM. */
  readonly resetsPerSecond: number;
  /** SETTINGS frames: a bucket of this many, refilled at settingsPerSecond; empty: GOAWAY ENHANCE_YOUR_CALM. */
  readonly settingsBurst: number;
  readonly settingsPerSecond: number;
  /** Control frames we owe the peer (SETTINGS and PING acks, RST_STREAM) it has not read yet; more: GOAWAY. */
  readonly maxQueuedControlFrames: number;
  /** PINGs closer together than this are strikes, with or without streams open (the gRPC ping policy)... */
  readonly minPingIntervalMs: number;
  /** ...and more strikes than this before we send HEADERS or DATA: GOAWAY ENHANCE_YOUR_CALM "too_many_pings". */
  readonly maxPingStrikes: number;
  /** The preface and the first SETTINGS must have arrived within this after the connection opened. */
  readonly prefaceTimeoutMs: number;
  /** A connection without a stream (or a handler running) this long is closed with GOAWAY; 0: never. */
  readonly idleTimeoutMs: number;
  /** Connections open at once; more are closed as they come. */
  readonly maxConnections: number;
  /** Connections open at once from one peer address. */
  readonly maxConnectionsPerPeer: number;
}

export const DEFAULT_H2_LIMITS: H2Limits = {
  maxConcurrentStreams: 4_096,
  maxHeaderListBytes: 16 << 10,
  maxContinuationFrames: 32,
  headerBlockTimeoutMs: 5_000,
  connectionBufferBytes: 16 << 20,
  serverBufferBytes: 64 << 20,
  // nghttp2's stream reset rate limit (also applied to the resets a peer provokes since CVE-2025-8671).
  resetBurst: 1_000,
  resetsPerSecond: 33,
  settingsBurst: 100,
  settingsPerSecond: 10,
  // nghttp2's limit of outstanding acks (NGHTTP2_DEFAULT_MAX_OBQ_FLOOD_ITEM).
  maxQueuedControlFrames: 1_000,
  minPingIntervalMs: 10_000,
  maxPingStrikes: 2,
  prefaceTimeoutMs: 10_000,
  idleTimeoutMs: 300_000,
  maxConnections: 10_000,
  maxConnectionsPerPeer: 512,
};

/** How each limit is named and described as a setting (SB_RPC_H2_<NAME>); durations end in _MS. */
export const H2_LIMIT_SETTINGS: readonly { readonly key: keyof H2Limits; readonly env: string; readonly description: string; readonly min: number }[] = [
  { key: "maxConcurrentStreams", env: "SB_RPC_H2_MAX_CONCURRENT_STREAMS", description: "streams (and handlers still running) per connection", min: 1 },
  { key: "maxHeaderListBytes", env: "SB_RPC_H2_MAX_HEADER_LIST_BYTES", description: "largest request header list", min: 1024 },
  { key: "maxContinuationFrames", env: "SB_RPC_H2_MAX_CONTINUATION_FRAMES", description: "CONTINUATION frames per header block", min: 1 },
  { key: "headerBlockTimeoutMs", env: "SB_RPC_H2_HEADER_BLOCK_TIMEOUT_MS", description: "longest time a header block may stay unfinished", min: 1 },
  { key: "connectionBufferBytes", env: "SB_RPC_H2_CONNECTION_BUFFER_BYTES", description: "request bytes held per connection", min: 65_536 },
  { key: "serverBufferBytes", env: "SB_RPC_H2_SERVER_BUFFER_BYTES", description: "request bytes held over all connections", min: 65_536 },
  { key: "resetBurst", env: "SB_RPC_H2_RESET_BURST", description: "stream resets (received or provoked) a connection may make at once", min: 1 },
  { key: "resetsPerSecond", env: "SB_RPC_H2_RESETS_PER_SECOND", description: "stream resets per second a connection may make after its burst", min: 1 },
  { key: "settingsBurst", env: "SB_RPC_H2_SETTINGS_BURST", description: "SETTINGS frames a connection may send at once", min: 1 },
  { key: "settingsPerSecond", env: "SB_RPC_H2_SETTINGS_PER_SECOND", description: "SETTINGS frames per second after the burst", min: 1 },
  { key: "maxQueuedControlFrames", env: "SB_RPC_H2_MAX_QUEUED_CONTROL_FRAMES", description: "acks and resets owed to a peer that does not read", min: 16 },
  { key: "minPingIntervalMs", env: "SB_RPC_H2_MIN_PING_INTERVAL_MS", description: "pings closer together than this are strikes", min: 0 },
  { key: "maxPingStrikes", env: "SB_RPC_H2_MAX_PING_STRIKES", description: "ping strikes before GOAWAY too_many_pings", min: 0 },
  { key: "prefaceTimeoutMs", env: "SB_RPC_H2_PREFACE_TIMEOUT_MS", description: "time a new connection has to send the preface and SETTINGS", min: 1 },
  { key: "idleTimeoutMs", env: "SB_RPC_H2_IDLE_TIMEOUT_MS", description: "a connection without streams this long is closed (0 = never)", min: 0 },
  { key: "maxConnections", env: "SB_RPC_H2_MAX_CONNECTIONS", description: "connections open at once per server", min: 1 },
  { key: "maxConnectionsPerPeer", env: "SB_RPC_H2_MAX_CONNECTIONS_PER_PEER", description: "connections open at once from one address", min: 1 },
];

/** A token bucket: `burst` tokens, refilled at `perSecond`; take() is false when empty. */
export class TokenBucket {
  private tokens: number;
  private at = Date.now();

  constructor(
    private readonly burst: number,
    private readonly perSecond: number,
  ) {
    this.tokens = burst;
  }

  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.perSecond) / 1_000);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }
}

/** Bytes held against a limit; several (connection, server) are taken from together. */
export class ByteBudget {
  used = 0;
  constructor(readonly limit: number) {}
}
