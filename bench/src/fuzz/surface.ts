/** What the fuzzer's three surfaces (WebSocket, REST, HTTP/2) share. */
import type { Rng } from "./mutator.js";

/** Where and as whom the fuzzer sends (a user of its own, in a channel of its own). */
export interface Targets {
  readonly gatewayUrl: string;
  /** host:port of a service's gRPC port (posts). */
  readonly grpcAddr: string;
  /**
   * The files of a workload certificate of the run's CA: the gRPC port speaks mTLS only, so the
   * HTTP/2 fuzzer comes in as an authenticated workload (the worst case: a compromised peer).
   */
  readonly grpcTls: { readonly caFile: string; readonly certFile: string; readonly keyFile: string };
  readonly token: string;
  readonly userId: string;
  readonly teamId: string;
  readonly channelId: string;
  readonly postId: string;
}

/** Named counters, and samples of what went wrong (bounded). */
export class Tally {
  readonly counts: Record<string, number> = {};
  readonly samples: string[] = [];
  count(name: string, n = 1): void {
    this.counts[name] = (this.counts[name] ?? 0) + n;
  }
  sample(s: string): void {
    if (this.samples.length < 20) this.samples.push(s.slice(0, 600));
  }
}

export interface Surface {
  readonly name: string;
  /** Sends one unit: a hostile one when `attack`, else the same kind of traffic, valid. */
  send(r: Rng, attack: boolean): void;
  close(): void;
}
