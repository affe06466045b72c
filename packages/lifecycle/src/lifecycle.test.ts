import { describe, expect, it } from "vitest";
import type { Component } from "./component.js";
import { createLifecycle, StoppingError } from "./lifecycle.js";

function component(name: string, events: string[], startGate?: Promise<void>): Component {
  return {
    name,
    async start() {
      await startGate;
      events.push(`start ${name}`);
    },
    async stop() {
      events.push(`stop ${name}`);
    },
  };
}

describe("lifecycle", () => {
  it("stops in reverse start order, once, even when a stop fails", async () => {
    const events: string[] = [];
    const lc = createLifecycle();
    await lc.start(component("a", events));
    await lc.start({
      ...component("b", events),
      async stop() {
        events.push("stop b (failing)");
        throw new Error("stop failed");
      },
    });
    await lc.start(component("c", events));
    await Promise.all([lc.stopAll(), lc.stopAll()]);
    expect(events).toEqual(["start a", "start b", "start c", "stop c", "stop b (failing)", "stop a"]);
  });

  it("refuses to start once stopping, and stops a component whose start was under way when stopAll began", async () => {
    const events: string[] = [];
    const lc = createLifecycle();
    await lc.start(component("a", events));
    let open!: () => void;
    const slow = lc.start(component("slow", events, new Promise<void>((r) => (open = r))));
    await lc.stopAll();
    expect(events).toEqual(["start a", "stop a"]);
    open();
    await expect(slow).rejects.toBeInstanceOf(StoppingError);
    expect(events).toEqual(["start a", "stop a", "start slow", "stop slow"]);
    await expect(lc.start(component("late", events))).rejects.toBeInstanceOf(StoppingError);
    expect(events).not.toContain("start late");
  });
});
