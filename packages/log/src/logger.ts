import { pino } from "pino";

export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

/**
 * The small logging interface every component takes. Messages are static strings; data goes
 * in the fields object (snake_case keys). An error goes in as itself under `err`
 * (`log.warn({ err }, "what failed")`), never as `String(e)`: it comes out with its type,
 * message, stack, own fields and its chain of causes.
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

/**
 * pino's error serializer, keeping the chain of causes as nested objects (each with its type,
 * message and stack). A cause that is not an Error (`new Error("x", { cause: 42 })`) is kept as
 * it is; a value that is not an Error passes through unchanged.
 */
function serializeError(e: unknown): unknown {
  const out = pino.stdSerializers.errWithCause(e as Error) as unknown;
  if (out === e || !(e instanceof Error) || e.cause === undefined) return out;
  const cause: unknown = e.cause;
  const causeMessage: unknown = typeof cause === "object" && cause !== null && "message" in cause ? cause.message : undefined;
  if (typeof causeMessage !== "string") (out as { cause?: unknown }).cause = cause;
  return out;
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
      serializers: { err: serializeError },
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
