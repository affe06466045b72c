import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "./logger.js";

/** A logger writing into an array of parsed JSON lines. */
function capture(): { log: ReturnType<typeof createLogger>; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString("utf8").split("\n")) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { log: createLogger({ name: "test", destination }), lines };
}

class StoreError extends Error {
  readonly code = "conflict";
}

describe("logging an error as { err }", () => {
  it("writes its type, message, stack, own fields and the chain of causes", () => {
    const { log, lines } = capture();
    const root = new TypeError("socket closed");
    const middle = new StoreError("write failed", { cause: root });
    const top = new Error("publish failed", { cause: middle });
    log.warn({ err: top, partition: "p1" }, "relay pass failed");

    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(line.msg).toBe("relay pass failed");
    expect(line.partition).toBe("p1");
    const err = line.err as Record<string, unknown>;
    expect(err.type).toBe("Error");
    expect(err.message).toBe("publish failed");
    expect(err.stack).toMatch(/^Error: publish failed\n\s+at /);
    const cause = err.cause as Record<string, unknown>;
    expect(cause.type).toBe("StoreError");
    expect(cause.message).toBe("write failed");
    expect(cause.code).toBe("conflict");
    expect(cause.stack).toMatch(/^Error: write failed\n\s+at /);
    const rootCause = cause.cause as Record<string, unknown>;
    expect(rootCause.type).toBe("TypeError");
    expect(rootCause.message).toBe("socket closed");
    expect(rootCause.stack).toMatch(/^TypeError: socket closed\n\s+at /);
  });

  it("keeps a cause that is not an Error, and a thrown value that is not an Error, as they are", () => {
    const { log, lines } = capture();
    log.error({ err: new Error("rejected", { cause: { status: 503 } }) }, "call failed");
    log.error({ err: "a thrown string" }, "unhandled rejection");
    const first = lines[0]!.err as Record<string, unknown>;
    expect(first.message).toBe("rejected");
    expect(first.cause).toEqual({ status: 503 });
    expect(lines[1]!.err).toBe("a thrown string");
  });

  it("applies in child loggers too", () => {
    const { log, lines } = capture();
    log.child({ component: "relay" }).warn({ err: new RangeError("too big", { cause: new Error("limit 4 MiB") }) }, "dropped");
    const err = lines[0]!.err as Record<string, unknown>;
    expect(err.type).toBe("RangeError");
    expect((err.cause as Record<string, unknown>).message).toBe("limit 4 MiB");
  });
});
