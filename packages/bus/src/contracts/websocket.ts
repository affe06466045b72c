/**
 * WebSocket close codes: the gateway's contract with clients (one table).
 *
 * 4000-4499 the client should reconnect (stock Mattermost clients reconnect on any close);
 * 4500-4999 the connection must not continue as it was. Reasons are short ASCII.
 */
export const CloseCode = {
  /** RFC 6455: frame over the inbound limit. */
  MessageTooBig: 1009,
  /** The gateway is shutting down or draining: reconnect (to another pod). */
  ServerShuttingDown: 4000,
  /** The socket could not keep up (too many unsent bytes or events): reconnect and resume. */
  SlowConsumer: 4002,
  /**
   * The user, or the client's address, already holds the most WebSocket connections allowed
   * across the cluster (SB_PRESENCE_MAX_CONNECTIONS_PER_USER / _PER_IP): reconnect later.
   */
  TooManyConnections: 4003,
  /** The client sent requests faster than its per-connection limit for too long: reconnect (and resume) later. */
  RateLimited: 4004,
  /** Not authenticated within the allowed time, or the authentication_challenge failed. */
  AuthenticationFailed: 4500,
  /** The session was revoked or expired. */
  SessionRevoked: 4501,
  /** A frame that is not a valid request (undecodable JSON or msgpack). */
  ProtocolViolation: 4502,
  /** Bad resume parameters (invalid connection_id, missing sequence_number). */
  BadResumeParameters: 4503,
  /** The connection's queue overflowed while it was away: its state is gone, resync. */
  QueueOverflow: 4504,
  /** Events for the connection were lost beyond repair (a gap past the event stream's retention, or a hole no source could fill): its state is gone, resync. */
  EventsLost: 4505,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

export const CloseReason: Record<number, string> = {
  [CloseCode.MessageTooBig]: "message too big",
  [CloseCode.ServerShuttingDown]: "server shutting down",
  [CloseCode.SlowConsumer]: "slow consumer",
  [CloseCode.TooManyConnections]: "too many connections",
  [CloseCode.RateLimited]: "too many requests",
  [CloseCode.AuthenticationFailed]: "authentication failed",
  [CloseCode.SessionRevoked]: "session revoked",
  [CloseCode.ProtocolViolation]: "invalid frame",
  [CloseCode.BadResumeParameters]: "invalid connection_id or sequence_number",
  [CloseCode.QueueOverflow]: "queue overflow",
  [CloseCode.EventsLost]: "events lost, resync",
};
