/** What a handler knows about the call besides its request message. */
export interface CallContext {
  /** "sb.posts.v1.PostsService/CreatePost". */
  readonly method: string;
  /** First value of a metadata key (lower-case), if any. */
  metadata(key: string): string | undefined;
  /** The bearer token from `authorization: Bearer <token>`, if any. */
  bearerToken(): string | undefined;
  /** Absolute deadline (Unix ms): the client's, or the server's default. */
  readonly deadline: number;
  /** Aborted when the client cancels or the deadline passes. */
  readonly signal: AbortSignal;
  readonly peer: string;
}
