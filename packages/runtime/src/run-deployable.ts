import { ConfigError } from "@switchboard/config";
import { runMain, type RunningApp } from "@switchboard/lifecycle";
import { createLogger, type Logger, type LogLevel } from "@switchboard/log";
import { tuneV8ForServing } from "./v8-tuning.js";

export interface DeployableMain<C extends { readonly logLevel: LogLevel; readonly shutdownDeadlineMs: number }> {
  readonly name: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly load: (env: Readonly<Record<string, string | undefined>>) => { readonly config: C; readonly warnings: readonly string[] };
  /** The effective configuration for the start-up log line (secrets redacted). */
  readonly describe: (config: C) => Record<string, unknown>;
  /** `signal` aborts when a shutdown signal arrives before the start-up finished. */
  readonly start: (config: C, deps: { log: Logger; signal: AbortSignal }) => Promise<RunningApp>;
}

/**
 * What every deployable's main.ts does: set V8 up for serving (v8-tuning.ts), load and validate
 * the configuration (every problem at once, exit 2), create the process's logger, log the
 * effective configuration, then run the app under runMain's signal handling.
 */
export async function runDeployable<C extends { readonly logLevel: LogLevel; readonly shutdownDeadlineMs: number }>(m: DeployableMain<C>): Promise<void> {
  tuneV8ForServing();
  let loaded: ReturnType<DeployableMain<C>["load"]>;
  try {
    loaded = m.load(m.env);
  } catch (e: unknown) {
    process.stderr.write(`${e instanceof ConfigError ? e.message : String(e)}\n`);
    process.exit(2);
  }
  const { config, warnings } = loaded;
  const log = createLogger({ name: m.name, level: config.logLevel });
  for (const w of warnings) log.warn({}, w);
  log.info({ config: m.describe(config) }, "starting");
  await runMain((signal) => m.start(config, { log, signal }), { log, shutdownDeadlineMs: config.shutdownDeadlineMs });
}
