import type { ServerCall } from "./call.js";
import type { CallContext } from "./context.js";

const BEARER = /^bearer\s+(\S+)$/i;

/**
 * The CallContext of one call on the server. A class, not an object literal: a literal with
 * getters gets a hidden class of its own on every evaluation, kept in old space, and that
 * kept each call's whole object graph alive past young-generation collections (about 3 KB
 * promoted per call, scavenges of several milliseconds).
 */
export class ServerCallContext implements CallContext {
  private controller: AbortController | undefined;

  constructor(
    private readonly call: ServerCall,
    readonly method: string,
    readonly deadline: number,
  ) {}

  metadata(key: string): string | undefined {
    return this.call.metadata(key);
  }

  bearerToken(): string | undefined {
    const h = this.call.metadata("authorization");
    const m = h ? BEARER.exec(h.trim()) : null;
    return m ? m[1] : undefined;
  }

  /** Made when first asked for: most handlers never look at it. */
  get signal(): AbortSignal {
    return (this.controller ??= new AbortController()).signal;
  }

  get peer(): string {
    return this.call.peer;
  }

  /** Aborts the signal (made now if nobody asked for it yet, so a later look sees it aborted). */
  abort(reason: unknown): void {
    (this.controller ??= new AbortController()).abort(reason);
  }
}
