import type { Component } from "./component.js";

interface Log {
  info(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

/** Thrown by Lifecycle.start once stopAll has begun. */
export class StoppingError extends Error {
  override readonly name = "StoppingError";
}

export interface Lifecycle {
  /**
   * Starts the component now and remembers it for stopAll. Once stopAll has begun it throws
   * StoppingError; a component whose start was under way then is stopped as soon as it started.
   */
  start<C extends Component>(component: C): Promise<C>;
  /** Stops every started component in reverse start order; later calls return the same promise. */
  stopAll(): Promise<void>;
}

export function createLifecycle(log?: Log): Lifecycle {
  const started: Component[] = [];
  let stopping: Promise<void> | undefined;
  const stopOne = async (c: Component): Promise<void> => {
    try {
      await c.stop();
      log?.info({ part: c.name }, "stopped");
    } catch (e: unknown) {
      // Keep stopping the rest: one failing component must not keep the others running.
      log?.error({ part: c.name, err: e }, "stop failed");
    }
  };
  return {
    async start(component) {
      if (stopping) throw new StoppingError(`cannot start ${component.name}: stopping`);
      await component.start();
      if (stopping) {
        // stopAll began while this component was starting and could not see it: stop it here.
        await stopOne(component);
        throw new StoppingError(`${component.name} started after stop was requested; stopped it`);
      }
      started.push(component);
      log?.info({ part: component.name }, "started");
      return component;
    },
    stopAll() {
      stopping ??= (async () => {
        for (const c of [...started].reverse()) await stopOne(c);
      })();
      return stopping;
    },
  };
}
