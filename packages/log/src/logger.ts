import { pino } from "pino";

export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

/**
 * The small logging interface every component takes. Messages are static strings; data goes
 * in the fields object (snake_case keys).
 */
export interface Logger {
  error(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  info(fields: object, msg: string): void;
  debug(fields: object, msg: string): void;
  child(bindings: object): Logger;
  isLevelEnabled(level: LogLevel): boolean;
}

export interface LoggerOptions {
  readonly name: string;
  readonly level?: LogLevel;
  /** Defaults to stdout. */
  readonly destination?: NodeJS.WritableStream;
}

/** One structured JSON logger per process; components get children. */
export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      name: opts.name,
      level: opts.level ?? "info",
      base: { pid: process.pid, component: opts.name },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: ["token", "password", "*.token", "*.password", "authorization"], censor: "[redacted]" },
    },
    opts.destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

const noop = (): void => {};

/** A logger that drops everything (tests, libraries without a logger). */
export const silentLogger: Logger = {
  error: noop,
  warn: noop,
  info: noop,
  debug: noop,
  child: () => silentLogger,
  isLevelEnabled: () => false,
};
