/** One benchmark scenario: it starts what it needs, measures, stops everything, reports. */
export interface Scenario {
  readonly name: string;
  readonly description: string;
  run(ctx: ScenarioContext): Promise<ScenarioReport>;
}

export interface ScenarioContext {
  /** Scale factor from BENCH_SCALE (default 1); scenarios size their load by it. */
  readonly scale: number;
  /** QUICK=1: a short run that still prints every figure a report compares (scenarios may skip ladders). */
  readonly quick: boolean;
  log(msg: string): void;
}

export interface ScenarioReport {
  /** Measured figures, flat (name -> number), e.g. { service_tx_per_s: 1234, raw_tx_per_s: 1500, ratio: 0.82 }. */
  readonly figures: Readonly<Record<string, number>>;
  /** The target this scenario checks, as text, and whether this run met it. */
  readonly target?: { readonly text: string; readonly met: boolean };
  readonly notes?: readonly string[];
}

/**
 * Node flags for a deployable a scenario spawns: with BENCH_PROFILE_DIR set, each writes a
 * V8 CPU profile there when it stops (open it in Chrome DevTools or speedscope).
 */
export function profiledNodeArgs(): string[] {
  const dir = process.env.BENCH_PROFILE_DIR;
  return dir ? ["--cpu-prof", `--cpu-prof-dir=${dir}`] : [];
}

/** A figure name's part for a gRPC server implementation (SB_RPC_SERVER): h2, grpc_js. */
export function transportKey(t: string): string {
  return t.replace(/-/g, "_");
}
