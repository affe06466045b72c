/** One benchmark scenario: it starts what it needs, measures, stops everything, reports. */
export interface Scenario {
  readonly name: string;
  readonly description: string;
  run(ctx: ScenarioContext): Promise<ScenarioReport>;
}

export interface ScenarioContext {
  /** Scale factor from BENCH_SCALE (default 1); scenarios size their load by it. */
  readonly scale: number;
  log(msg: string): void;
}

export interface ScenarioReport {
  /** Measured figures, flat (name -> number), e.g. { service_tx_per_s: 1234, raw_tx_per_s: 1500, ratio: 0.82 }. */
  readonly figures: Readonly<Record<string, number>>;
  /** The target this scenario checks, as text, and whether this run met it. */
  readonly target?: { readonly text: string; readonly met: boolean };
  readonly notes?: readonly string[];
}
