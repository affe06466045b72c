import { describe, expect, it } from "vitest";
import { checkLedger } from "./checker.js";
import { eventIdentity } from "./event-identity.js";
import type { Recording, ReceivedEvent } from "./recorder.js";
import type { Truth, TruthEvent } from "./truth.js";

const A = "user-a";
const B = "user-b";
const C1 = "chan-1";
const C2 = "chan-2";

/** A `posted` as the wire carries it: the post as a JSON string. */
const postedData = (postId: string, channelId: string) => ({ post: JSON.stringify({ id: postId, channel_id: channelId }) });

let ledgerId = 0;
function posted(postId: string, channelId: string, channelSeq: number, recipients: string[]): TruthEvent {
  return {
    ledgerId: ++ledgerId,
    event: "posted",
    identity: eventIdentity("posted", postedData(postId, channelId), channelId)!,
    channelSeq,
    recipients: new Set(recipients),
    createdAt: 0,
  };
}

function got(postId: string, channelId: string, seq: number, event = "posted", data: Record<string, unknown> = postedData(postId, channelId)): ReceivedEvent {
  return { event, seq, identity: eventIdentity(event, data, channelId), dial: 0, connectionId: "c1", recvTs: 0 };
}

function recording(userId: string, events: ReceivedEvent[], o: Partial<Recording> = {}): Recording {
  return {
    userId,
    label: userId,
    events,
    wire: events,
    hellos: [{ connectionId: "c1", dial: 0, recvTs: 0 }],
    closes: [],
    opens: [{ dial: 0, ts: 0 }],
    missedReports: 0,
    reconnects: 0,
    from: undefined,
    ...o,
  };
}

// Channel 1 has A and B; channel 2 only B.
const p1 = posted("p1", C1, 1, [A, B]);
const p2 = posted("p2", C1, 2, [A, B]);
const p3 = posted("p3", C1, 3, [A, B]);
const q1 = posted("q1", C2, 1, [B]);
const truth: Truth = { events: [p1, p2, p3, q1] };
const everything = () => [got("p1", C1, 1), got("p2", C1, 2), got("p3", C1, 3)];

describe("ledger checker", () => {
  it("passes clients that got exactly their events, in channel order", () => {
    const r = checkLedger(truth, [recording(A, everything()), recording(B, [...everything(), got("q1", C2, 4)])]);
    expect(r.ok).toBe(true);
    expect(r.text).toBe("2 passed, 0 failed");
    expect(r.clients[0]!.expected).toBe(3);
  });

  it("reports a missing event", () => {
    const r = checkLedger(truth, [recording(A, [got("p1", C1, 1), got("p3", C1, 2)])]);
    expect(r.clients[0]!.missing.map((e) => e.identity.entity)).toEqual(["p2"]);
    expect(r.text).toMatch(/FAIL user-a: expected 3, missing 1/);
    expect(r.text.split("\n").at(-1)).toBe("0 passed, 1 failed");
  });

  it("reports duplicates the app saw, and raw duplicates on the wire separately", () => {
    const seen = [...everything(), got("p2", C1, 4)];
    const r = checkLedger(truth, [recording(A, seen)]);
    expect(r.clients[0]).toMatchObject({ duplicates: 1, duplicatesRaw: 1, ok: false });
    // A replay the client refused (wire only) is a raw duplicate, not an app one.
    const replay = checkLedger(truth, [recording(A, everything(), { wire: [...everything(), got("p3", C1, 2)] })]);
    expect(replay.clients[0]).toMatchObject({ duplicates: 0, duplicatesRaw: 1, ok: true });
    expect(checkLedger(truth, [recording(A, everything(), { wire: [...everything(), got("p3", C1, 2)] })], { allowedDuplicatesRaw: 0 }).ok).toBe(false);
  });

  it("reports events of a channel seen out of channel order", () => {
    const r = checkLedger(truth, [recording(A, [got("p2", C1, 1), got("p1", C1, 2), got("p3", C1, 3)])]);
    expect(r.clients[0]).toMatchObject({ outOfOrder: 1, ok: false });
    expect(r.clients[0]!.missing).toHaveLength(0);
  });

  it("does not call interleaved channels out of order", () => {
    const r = checkLedger(truth, [recording(B, [got("p1", C1, 1), got("q1", C2, 2), got("p2", C1, 3), got("p3", C1, 4)])]);
    expect(r.ok).toBe(true);
  });

  it("reports a leak: an event of a channel the user is not in", () => {
    const r = checkLedger(truth, [recording(A, [...everything(), got("q1", C2, 4)])]);
    expect(r.clients[0]!.leaked.map((e) => e.identity?.entity)).toEqual(["q1"]);
    expect(r.ok).toBe(false);
  });

  it("expects nothing written before the client's window, and does not call it a leak", () => {
    const late = recording(A, [got("p1", C1, 1), got("p3", C1, 2)], { from: p2.ledgerId });
    const r = checkLedger(truth, [late]);
    expect(r.clients[0]).toMatchObject({ expected: 1, ok: true });
    expect(r.clients[0]!.leaked).toHaveLength(0);
  });

  it("counts extra hellos, new connection ids and the client's own seq gaps", () => {
    const r = checkLedger(truth, [
      recording(A, everything(), {
        hellos: [
          { connectionId: "c1", dial: 0, recvTs: 0 },
          { connectionId: "c1", dial: 1, recvTs: 1 },
          { connectionId: "c2", dial: 2, recvTs: 2 },
        ],
        closes: [
          { dial: 0, socketCode: undefined, clientCode: "4001", ts: 0 },
          { dial: 1, socketCode: 1006, clientCode: "1006", ts: 1 },
        ],
        missedReports: 1,
      }),
    ]);
    expect(r.clients[0]).toMatchObject({ extraHellos: 2, newConnectionIds: 1, seqGaps: 1, missedReports: 1, closeCodes: { "4001": 1, "1006": 1 }, ok: false });
    expect(
      checkLedger(
        truth,
        [
          recording(A, everything(), {
            hellos: r.clients[0]
              ? [
                  { connectionId: "c1", dial: 0, recvTs: 0 },
                  { connectionId: "c1", dial: 1, recvTs: 1 },
                ]
              : [],
          }),
        ],
        { allowedExtraHellos: 1 },
      ).ok,
    ).toBe(true);
  });

  it("matches recurring entities by occurrence: a reaction added twice must arrive twice", () => {
    const reaction = { reaction: JSON.stringify({ user_id: B, post_id: "p1", emoji_name: "smile" }) };
    const id = eventIdentity("reaction_added", reaction, C1)!;
    const r1: TruthEvent = { ledgerId: 10, event: "reaction_added", identity: id, channelSeq: 4, recipients: new Set([A]), createdAt: 0 };
    const r2: TruthEvent = { ...r1, ledgerId: 12, channelSeq: 6 };
    const t: Truth = { events: [r1, r2] };
    const once = checkLedger(t, [recording(A, [got("", C1, 1, "reaction_added", reaction)])]);
    expect(once.clients[0]!.missing.map((e) => e.ledgerId)).toEqual([12]);
    const twice = checkLedger(t, [recording(A, [got("", C1, 1, "reaction_added", reaction), got("", C1, 2, "reaction_added", reaction)])]);
    expect(twice.ok).toBe(true);
  });

  it("with excuseResynced, counts events missed before a new connection id's hello as resynced, and later ones as missing", () => {
    const t: Truth = {
      events: [
        { ...p1, createdAt: 100 },
        { ...p2, createdAt: 200 },
        { ...p3, createdAt: 400 },
      ],
    };
    const hellos = [
      { connectionId: "c1", dial: 0, recvTs: 50 },
      { connectionId: "c2", dial: 1, recvTs: 300 },
    ];
    const r = recording(A, [got("p1", C1, 1)], { hellos });
    const strict = checkLedger(t, [r], { allowedExtraHellos: 1 });
    expect(strict.clients[0]!.missing.map((e) => e.identity.entity)).toEqual(["p2", "p3"]);
    const lenient = checkLedger(t, [r], { allowedExtraHellos: 1, excuseResynced: true });
    expect(lenient.clients[0]!.resynced.map((e) => e.identity.entity)).toEqual(["p2"]);
    expect(lenient.clients[0]!.missing.map((e) => e.identity.entity)).toEqual(["p3"]);
    // A resume on the same connection id (a partial replay if anything is missing) excuses nothing.
    const resumed = recording(A, [got("p1", C1, 1)], { hellos: [hellos[0]!, { ...hellos[1]!, connectionId: "c1" }] });
    expect(checkLedger(t, [resumed], { allowedExtraHellos: 1, excuseResynced: true }).clients[0]!.missing).toHaveLength(2);
  });

  it("measures latency from the outbox write to the app", () => {
    const t: Truth = {
      events: [
        { ...p1, createdAt: 1_000 },
        { ...p2, createdAt: 1_000 },
        { ...p3, createdAt: 1_000 },
      ],
    };
    const at = (e: ReceivedEvent, recvTs: number): ReceivedEvent => ({ ...e, recvTs });
    const [e1, e2, e3] = everything() as [ReceivedEvent, ReceivedEvent, ReceivedEvent];
    const r = checkLedger(t, [recording(A, [at(e1, 1_005), at(e2, 1_010), at(e3, 1_300)])]);
    expect(r.clients[0]!.latencyMs).toEqual({ p50: 10, p99: 300, max: 300 });
    expect(r.latencyMs).toEqual({ p50: 10, p99: 300, max: 300 });
  });

  it("measures how long each client was without a socket after a close, and one that never came back", () => {
    const closes = [
      { dial: 0, socketCode: 1006, clientCode: "1006", ts: 1_000 },
      { dial: 1, socketCode: 4000, clientCode: "4000", ts: 5_000 },
    ];
    const back = recording(A, everything(), {
      closes,
      opens: [
        { dial: 0, ts: 0 },
        { dial: 1, ts: 1_250 },
        { dial: 2, ts: 5_700 },
      ],
    });
    const gone = recording(B, [], { closes: closes.slice(0, 1), opens: [{ dial: 0, ts: 0 }] });
    const r = checkLedger({ events: [] }, [back, gone]);
    expect(r.clients.map((c) => c.longestDownMs)).toEqual([700, Number.POSITIVE_INFINITY]);
    expect(r.longestDownMs).toBe(Number.POSITIVE_INFINITY);
    expect(checkLedger({ events: [] }, [recording(A, [])]).longestDownMs).toBeUndefined();
  });

  it("ignores kinds the outbox does not write (typing, status_change, hello)", () => {
    const r = checkLedger(truth, [recording(A, [...everything(), got("", C1, 4, "typing", {}), got("", "", 5, "status_change", {})])]);
    expect(r.ok).toBe(true);
  });
});
