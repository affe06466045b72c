import { describe, expect, it } from "vitest";
import { silentLogger } from "@switchboard/log";
import type { PresenceClient } from "@switchboard/rpc";
import { createOnlineDirectory } from "./online-directory.js";

function presence(answer: (ids: string[]) => string[] | Error) {
  const calls: string[][] = [];
  const client = {
    async getStatuses(req: { userIds: string[] }) {
      calls.push(req.userIds);
      const r = answer(req.userIds);
      if (r instanceof Error) throw r;
      return { statuses: req.userIds.map((userId, i) => ({ userId, status: r[i] })) };
    },
  } as unknown as PresenceClient;
  return { client, calls };
}

describe("online directory", () => {
  it("keeps only online users, asking at most 1,000 ids per call", async () => {
    const ids = Array.from({ length: 2_500 }, (_, i) => `u${i}`);
    const { client, calls } = presence((batch) =>
      batch.map((id) => (Number(id.slice(1)) % 3 === 0 ? "online" : Number(id.slice(1)) % 3 === 1 ? "away" : "offline")),
    );
    const dir = createOnlineDirectory({ presence: client, deadlineMs: 100, log: silentLogger, onFailure: () => undefined });
    const online = await dir.online(ids, "token");
    expect(calls.map((c) => c.length)).toEqual([1_000, 1_000, 500]);
    expect(online.size).toBe(834);
    expect(online.has("u3")).toBe(true);
    expect(online.has("u4")).toBe(false);
  });

  it("answers nobody, and counts it, when presence fails", async () => {
    let failures = 0;
    const { client } = presence(() => new Error("unavailable"));
    const dir = createOnlineDirectory({ presence: client, deadlineMs: 100, log: silentLogger, onFailure: () => failures++ });
    expect((await dir.online(["a", "b"], "token")).size).toBe(0);
    expect(failures).toBe(1);
  });
});
