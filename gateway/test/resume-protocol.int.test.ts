/**
 * The resume messages on a real nats-server: the holder side (ResumeHolder) and the claimant
 * side (natsResumeClaims) of two builds, including versions this build does not speak.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { connectBus, resumeProtocol, subjects, type Bus } from "@switchboard/bus";
import { silentLogger } from "@switchboard/log";
import { newId } from "@switchboard/model";
import { ResumeClaimSchema, ResumeHandover_Result, ResumeHandoverSchema } from "@switchboard/proto/gateway";
import { sharedNatsServer } from "@switchboard/testkit";
import { renderEvent } from "../src/protocol/outbound.js";
import { natsResumeClaims } from "../src/resume/resume-claims.js";
import { ResumeHolder, type ConnectionHolder, type Handover } from "../src/resume/resume-holder.js";

const frames = [1, 2, 3].map((n) => renderEvent("posted", JSON.stringify({ n }), "{}").bytes);
const held = newId();
const owner = newId();

/** The sessions layer's part, as a table: one connection of `owner`, events 5..7 kept. */
const holder: ConnectionHolder = {
  handOver(connectionId, userId, sequence): Handover {
    if (connectionId !== held) return undefined;
    if (userId !== owner) return { result: "refused" };
    if (sequence !== 5) return { result: "gap" };
    return { result: "handed_over", frames, ids: ["e5", "e6", "e7"] };
  },
};

let a: Bus;
let b: Bus;
let h: ResumeHolder;
const answers: string[] = [];

beforeAll(async () => {
  const nats = await sharedNatsServer();
  a = await connectBus({ ...nats.as("gateway"), name: "holder" });
  b = await connectBus({ ...nats.as("gateway"), name: "claimant" });
  h = new ResumeHolder({ bus: a, holder, log: silentLogger, podName: "gw-a", onAnswer: (r) => answers.push(r) });
  await h.start();
});

afterAll(async () => {
  await h?.stop();
  await a?.close();
  await b?.close();
});

const claims = () => natsResumeClaims({ bus: b, log: silentLogger, timeoutMs: 300, podName: "gw-b", maxFrames: 16 });

describe("resume claims over NATS", () => {
  it("the holder hands over the frames with their ids; the claimant rebuilds frames that render as sent", async () => {
    const res = await claims().claim(held, owner, 5);
    expect(res.result).toBe("claimed");
    if (res.result !== "claimed") return;
    expect(res.firstSeq).toBe(5);
    expect(res.ids).toEqual(["e5", "e6", "e7"]);
    expect(res.holder).toBe("gw-a");
    expect(
      res.frames.map((f) => JSON.parse(new TextDecoder().decode(f).replace(/"seq": *}$/, '"seq":0}')) as { data: { n: number } }).map((m) => m.data.n),
    ).toEqual([1, 2, 3]);
    expect(res.frames[0]!.length).toBe(frames[0]!.length);
  });

  it("refused, gap, and no holder (silence until the timeout) are told apart", async () => {
    expect((await claims().claim(held, newId(), 5)).result).toBe("refused");
    expect((await claims().claim(held, owner, 9)).result).toBe("gap");
    const t0 = Date.now();
    expect((await claims().claim(newId(), owner, 5)).result).toBe("missed");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(answers).toEqual(["handed_over", "refused", "gap"]);
  });

  it("a newer build's claim is answered in this build's version; an answer in a version this build cannot read counts as no holder", async () => {
    const future = create(ResumeClaimSchema, {
      version: resumeProtocol.current + 1,
      connectionId: held,
      userId: owner,
      sequenceNumber: 5n,
      claimant: "gw-next",
    });
    const reply = fromBinary(ResumeHandoverSchema, (await b.request(subjects.resumeClaim(held), toBinary(ResumeClaimSchema, future), 2_000)).data);
    expect(reply.version).toBe(resumeProtocol.current);
    expect(reply.result).toBe(ResumeHandover_Result.HANDED_OVER);
    expect(reply.eventIds).toEqual(["e5", "e6", "e7"]);

    // A holder of a future build that answers only in its own version.
    const id = newId();
    const sub = a.subscribe(subjects.resumeClaim(id), (m) =>
      m.respond(
        toBinary(
          ResumeHandoverSchema,
          create(ResumeHandoverSchema, { version: resumeProtocol.current + 1, result: ResumeHandover_Result.HANDED_OVER, firstSeq: 5n }),
        ),
      ),
    );
    try {
      await a.flush();
      expect((await claims().claim(id, owner, 5)).result).toBe("missed");
    } finally {
      sub.unsubscribe();
    }
  });

  it("an answer that is not what it claims to be is no holder, never a partial replay", async () => {
    const id = newId();
    const bad = [
      // Not from the sequence asked for.
      create(ResumeHandoverSchema, { version: 1, result: ResumeHandover_Result.HANDED_OVER, firstSeq: 4n }),
      // A frame that is not a Mattermost event.
      create(ResumeHandoverSchema, { version: 1, result: ResumeHandover_Result.HANDED_OVER, firstSeq: 5n, frames: [new Uint8Array([1])], eventIds: ["x"] }),
      // Ids that do not match the frames.
      create(ResumeHandoverSchema, { version: 1, result: ResumeHandover_Result.HANDED_OVER, firstSeq: 5n, eventIds: ["x"] }),
      // No result.
      create(ResumeHandoverSchema, { version: 1, firstSeq: 5n }),
    ].map((m) => toBinary(ResumeHandoverSchema, m));
    bad.push(new Uint8Array([0xff, 0xff, 0xff])); // not protobuf
    let next = 0;
    const sub = a.subscribe(subjects.resumeClaim(id), (m) => m.respond(bad[next++]!));
    try {
      await a.flush();
      for (let i = 0; i < bad.length; i++) expect((await claims().claim(id, owner, 5)).result, `answer ${i}`).toBe("missed");
    } finally {
      sub.unsubscribe();
    }
  });
});
