import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { newId } from "@switchboard/model";
import { GetStatusesResponseSchema, GetStatusResponseSchema, StatusSchema } from "@switchboard/proto/presence";
import { IdIndex, packIds } from "./id-index.js";
import { encodeOfflineStatus, encodeStatus, encodeStatusList, StatusListWriter } from "./status-encoding.js";

const indexOf = (entries: Iterable<readonly [string, Uint8Array]>): IdIndex<Uint8Array> => {
  const index = new IdIndex<Uint8Array>();
  for (const [id, bytes] of entries) index.set(id, bytes);
  return index;
};
const none = new IdIndex<Uint8Array>();

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
    const fast = encodeStatusList(packIds(ids), indexOf(known));
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
    expect(fromBinary(GetStatusResponseSchema, encodeStatusList(packIds([id]), none)).status).toMatchObject({ userId: id, status: "offline" });
    expect(
      Buffer.from(encodeStatusList(packIds([id]), none))
        .subarray(2)
        .equals(Buffer.from(encodeOfflineStatus(id))),
    ).toBe(true);
    expect(encodeStatusList(packIds([]), none)).toHaveLength(0);
  });

  it("reads ids in place from a request's bytes (tag and length between them), written where asked", () => {
    const ids = [...known.keys(), newId()];
    const request = Buffer.concat(ids.map((id) => Buffer.concat([Buffer.from([0x0a, 26]), Buffer.from(id, "latin1")])));
    const writer = new StatusListWriter({ bytes: request, first: 2, stride: 28, count: ids.length }, indexOf(known));
    const out = Buffer.alloc(writer.length + 10);
    expect(writer.writeTo(out, 3)).toBe(3 + writer.length);
    expect(out.subarray(3, 3 + writer.length).equals(encodeStatusList(packIds(ids), indexOf(known)))).toBe(true);
  });

  it("writes multi-byte lengths for large statuses", () => {
    const big = create(StatusSchema, { userId: newId(), status: "online", prevStatus: "x".repeat(300) });
    const bytes = encodeStatusList(packIds([big.userId]), indexOf([[big.userId, encodeStatus(big)]]));
    expect(fromBinary(GetStatusesResponseSchema, bytes).statuses[0]!.prevStatus).toHaveLength(300);
  });
});
