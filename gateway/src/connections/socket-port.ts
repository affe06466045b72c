/** What a connection needs of its socket; the uWS adapter implements it (no uWS types here). */
export interface SocketPort {
  /** Sends one text frame; only call inside cork(). */
  send(frame: Uint8Array | string): void;
  /** Bytes accepted by send() but not yet written to the kernel. */
  bufferedAmount(): number;
  /** Runs fn with the socket corked: everything sent in it leaves in one write. */
  cork(fn: () => void): void;
  /** Closes with a close frame. The connection's onSocketClosed runs synchronously. */
  end(code: number, reason: string): void;
}
