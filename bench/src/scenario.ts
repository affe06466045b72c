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
  /** A progress line for one phase of the scenario (progress.ts). */
  phase(name: string, o: PhaseOptions): Phase;
}

export interface PhaseOptions {
  /** What the phase counts (connections opened, deliveries counted), and how many it expects. */
  readonly unit: string;
  readonly total: number;
  /** How long the phase may take at most, when known: the time left is never shown above it. */
  readonly deadlineMs?: number;
}

export interface Phase {
  /** `done` of the total so far. */
  update(done: number): void;
  end(done?: number): void;
}

/**
 * One measured phase of one party, Switchboard or a peer. A row that failed (incomplete
 * deliveries, a check that did not hold) carries its reason and no values: it is never
 * reported as a figure.
 */
export interface ResultRow {
  /** The phase, e.g. "round 1". */
  readonly label: string;
  /** Who was measured: "Switchboard" or the peer's name. */
  readonly subject: string;
  readonly peer: boolean;
  readonly values: Readonly<Record<string, number>>;
  readonly failed?: string;
}

/**
 * A chart of the HTML report. `bar`: one value per label and series (Switchboard beside each
 * peer); `line`, `cdf` and `histogram`: [x, y] points per series.
 */
export interface ChartSpec {
  readonly title: string;
  readonly kind: "bar" | "line" | "cdf" | "histogram";
  readonly xLabel: string;
  readonly yLabel: string;
  /** For `bar`: the categories. */
  readonly labels?: readonly string[];
  readonly series: readonly ChartSeries[];
}

interface ChartSeries {
  readonly label: string;
  /** `bar`: one number per label; otherwise [x, y] pairs. */
  readonly data: readonly number[] | readonly (readonly [number, number])[];
}

export interface ScenarioReport {
  /** Measured figures, flat (name -> number), e.g. { service_tx_per_s: 1234, raw_tx_per_s: 1500, ratio: 0.82 }. */
  readonly figures: Readonly<Record<string, number>>;
  /** The target this scenario checks, as text, and whether this run met it. */
  readonly target?: { readonly text: string; readonly met: boolean };
  readonly notes?: readonly string[];
  /** Every measured phase, Switchboard's and its peers', failed ones included. */
  readonly rows?: readonly ResultRow[];
  readonly charts?: readonly ChartSpec[];
}

/**
 * Runs `f`, a phase of a fixed duration, with a progress line in seconds elapsed of it (the
 * closed-loop phases, whose calls cannot be counted ahead).
 */
export async function timed<T>(ctx: ScenarioContext, name: string, durationMs: number, f: () => Promise<T>): Promise<T> {
  const phase = ctx.phase(name, { unit: "s", total: Math.max(1, Math.round(durationMs / 1000)), deadlineMs: durationMs });
  const started = performance.now();
  const tick = setInterval(() => phase.update(Math.floor((performance.now() - started) / 1000)), 500);
  tick.unref();
  try {
    return await f();
  } finally {
    clearInterval(tick);
    phase.end();
  }
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
