interface Log {
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

export interface RunningApp {
  stop(): Promise<void>;
}

export interface MainOptions {
  readonly log: Log;
  /** Hard deadline for a graceful stop; keep it below the pod's terminationGracePeriodSeconds. */
  readonly shutdownDeadlineMs: number;
  /** Flushes logs etc. just before exit. */
  readonly beforeExit?: () => void;
}

/**
 * The signal handling every deployable's main.ts uses: SIGTERM/SIGINT stop the app in order
 * and exit 0; a second signal or the deadline exits 1; SIGHUP never shuts down.
 *
 * A signal during start-up (a pod deleted while it waits for NATS or migrates, Ctrl-C on
 * `make dev`) aborts `start`'s signal: the app stops what had started and gives up the rest,
 * and the process exits 0 without waiting for the start-up to finish.
 */
export async function runMain(start: (signal: AbortSignal) => Promise<RunningApp>, opts: MainOptions): Promise<void> {
  const { log } = opts;
  let started: Promise<RunningApp | undefined> = Promise.resolve(undefined);
  let stopping = false;
  const startup = new AbortController();
  const exit = (code: number): never => {
    opts.beforeExit?.();
    process.exit(code);
  };
  const shutdown = (signal: string): void => {
    if (stopping) {
      log.warn({ signal }, "second signal, exiting now");
      exit(1);
    }
    stopping = true;
    log.info({ signal }, "shutting down");
    const timer = setTimeout(() => {
      log.error({ deadline_ms: opts.shutdownDeadlineMs }, "shutdown deadline passed, exiting");
      exit(1);
    }, opts.shutdownDeadlineMs);
    timer.unref();
    startup.abort();
    started
      .then((app) => app?.stop())
      .then(
        () => exit(0),
        (e: unknown) => {
          log.error({ err: e }, "shutdown failed");
          exit(1);
        },
      );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGHUP", () => log.info({ signal: "SIGHUP" }, "ignored"));
  process.on("unhandledRejection", (reason) => {
    log.error({ err: reason }, "unhandled rejection");
  });
  started = start(startup.signal).catch((e: unknown) => {
    if (startup.signal.aborted) {
      log.info({}, "start-up abandoned on the signal; what had started is stopped");
      return undefined;
    }
    log.error({ err: e }, "start failed");
    return exit(1);
  });
  await started;
}
