import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { newId } from "@switchboard/model";
import { GetStatusesResponseSchema, GetStatusResponseSchema, StatusSchema } from "@switchboard/proto/presence";
import { encodeOfflineStatus, encodeStatus, encodeStatusList } from "./status-encoding.js";

describe("status encoding", () => {
  const known = new Map(
    [
      create(StatusSchema, { userId: newId(), status: "online", lastActivityAt: 1_795_000_000_123n }),
      create(StatusSchema, { userId: newId(), status: "dnd", manual: true, dndEndTime: 1_795_000_999n, prevStatus: "away", lastActivityAt: 5n }),
      create(StatusSchema, { userId: newId(), status: "away", manual: true }),
    ].map((s) => [s.userId, encodeStatus(s)] as const),
  );

  it("is byte for byte what protobuf-es writes, known and unknown users mixed", () => {
    const ids = [...known.keys(), newId(), ...known.keys(), newId()];
    const fast = encodeStatusList(ids, (id) => known.get(id));
    const expected = create(GetStatusesResponseSchema, {
      statuses: ids.map((id) => (known.has(id) ? fromBinary(StatusSchema, known.get(id)!) : create(StatusSchema, { userId: id, status: "offline" }))),
    });
    expect(Buffer.from(fast).equals(Buffer.from(toBinary(GetStatusesResponseSchema, expected)))).toBe(true);
    const decoded = fromBinary(GetStatusesResponseSchema, fast);
    expect(decoded.statuses.map((s) => s.userId)).toEqual(ids);
    expect(decoded.statuses[1]).toMatchObject({ status: "dnd", manual: true, dndEndTime: 1_795_000_999n, prevStatus: "away" });
    expect(decoded.statuses.at(-1)!.status).toBe("offline");
  });

  it("serves the single-status answer and an empty list", () => {
    const id = newId();
    expect(fromBinary(GetStatusResponseSchema, encodeStatusList([id], () => undefined)).status).toMatchObject({ userId: id, status: "offline" });
    expect(Buffer.from(encodeStatusList([id], () => undefined)).subarray(2).equals(Buffer.from(encodeOfflineStatus(id)))).toBe(true);
    expect(encodeStatusList([], () => undefined)).toHaveLength(0);
  });

  it("writes multi-byte lengths for large statuses", () => {
    const big = create(StatusSchema, { userId: newId(), status: "online", prevStatus: "x".repeat(300) });
    const bytes = encodeStatusList([big.userId], () => encodeStatus(big));
    expect(fromBinary(GetStatusesResponseSchema, bytes).statuses[0]!.prevStatus).toHaveLength(300);
  });
});
