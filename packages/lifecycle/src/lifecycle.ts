import type { Component } from "./component.js";

interface Log {
  info(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

export interface Lifecycle {
  /** Starts the component now and remembers it for stopAll. */
  start<C extends Component>(component: C): Promise<C>;
  /** Stops every started component in reverse start order; later calls return the same promise. */
  stopAll(): Promise<void>;
}

export function createLifecycle(log?: Log): Lifecycle {
  const started: Component[] = [];
  let stopping: Promise<void> | undefined;
  return {
    async start(component) {
      if (stopping) throw new Error(`cannot start ${component.name}: stopping`);
      await component.start();
      started.push(component);
      log?.info({ part: component.name }, "started");
      return component;
    },
    stopAll() {
      stopping ??= (async () => {
        for (const c of started.reverse()) {
          try {
            await c.stop();
            log?.info({ part: c.name }, "stopped");
          } catch (e: unknown) {
            // Keep stopping the rest: one failing component must not keep the others running.
            log?.error({ part: c.name, err: e }, "stop failed");
          }
        }
      })();
      return stopping;
    },
  };
}
