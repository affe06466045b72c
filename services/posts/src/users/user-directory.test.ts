import { describe, expect, it } from "vitest";
import type { AccountsClient } from "@switchboard/rpc";
import { createUserDirectory } from "./user-directory.js";

function fakeAccounts(users: { id: string; username: string }[]) {
  const calls: string[][] = [];
  const client = {
    async getUsers(req: { userIds: string[] }) {
      calls.push(req.userIds);
      return { users: users.filter((u) => req.userIds.includes(u.id)).map((u) => ({ ...u, deleteAt: 0n })) };
    },
    async getUsersByUsernames(req: { usernames: string[] }) {
      calls.push(req.usernames);
      return { users: users.filter((u) => req.usernames.includes(u.username)).map((u) => ({ ...u, deleteAt: 0n })) };
    },
  } as unknown as AccountsClient;
  return { client, calls };
}

describe("user directory", () => {
  it("asks accounts once per user within the TTL, unknown names included", async () => {
    let now = 0;
    const { client, calls } = fakeAccounts([{ id: "a", username: "alice" }]);
    const dir = createUserDirectory({ accounts: client, ttlMs: 1_000, maxEntries: 10, deadlineMs: 100, now: () => now });
    expect((await dir.byIds(["a"], "t")).get("a")?.username).toBe("alice");
    expect((await dir.byUsernames(["alice", "nobody"], "t")).has("nobody")).toBe(false);
    expect(await dir.byUsernames(["alice", "nobody"], "t")).toHaveProperty("size", 1);
    await dir.byIds(["a"], "t");
    expect(calls).toEqual([["a"], ["nobody"]]);
    now = 2_000;
    await dir.byIds(["a"], "t");
    expect(calls).toHaveLength(3);
  });

  it("remembers full profiles within the TTL, unknown ids too", async () => {
    let now = 0;
    const { client, calls } = fakeAccounts([{ id: "a", username: "alice" }]);
    const dir = createUserDirectory({ accounts: client, ttlMs: 1_000, maxEntries: 10, deadlineMs: 100, now: () => now });
    expect([...(await dir.profiles(["a", "x"], "t")).keys()]).toEqual(["a"]);
    expect([...(await dir.profiles(["a", "x"], "t")).keys()]).toEqual(["a"]);
    expect(calls).toEqual([["a", "x"]]);
    now = 2_000;
    await dir.profiles(["a"], "t");
    expect(calls).toHaveLength(2);
  });

  it("keeps at most maxEntries", async () => {
    const { client, calls } = fakeAccounts([
      { id: "a", username: "alice" },
      { id: "b", username: "bob" },
    ]);
    const dir = createUserDirectory({ accounts: client, ttlMs: 60_000, maxEntries: 1, deadlineMs: 100 });
    await dir.byIds(["a"], "t");
    await dir.byIds(["b"], "t");
    await dir.byIds(["a"], "t");
    expect(calls).toEqual([["a"], ["b"], ["a"]]);
  });
});
