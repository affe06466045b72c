/** The raw numbers of one `make bench` run, as written to results.json. */
import type { ScenarioReport } from "../scenario.js";
import type { RunInfo } from "./run-info.js";

/** A scenario that threw: no figures, its error. */
interface ScenarioError {
  readonly error: string;
  readonly seconds: number;
}

export type ScenarioOutcome = (ScenarioReport & { readonly seconds: number }) | ScenarioError;

export interface RunResults {
  readonly info: RunInfo;
  readonly scenarios: Readonly<Record<string, ScenarioOutcome>>;
}

export const isError = (o: ScenarioOutcome): o is ScenarioError => "error" in o;
