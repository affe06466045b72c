import { describe, expect, it } from "vitest";
import {
  answerVersion,
  CloseCode,
  CloseReason,
  EventName,
  resumeProtocol,
  understands,
  isolatedBucket,
  kvBuckets,
  natsHeaders,
  parseEventSubject,
  streams,
  subjectContracts,
  subjects,
} from "./index.js";

const ID = "a".repeat(26);

// The wire forms other processes (and deployed versions) rely on: changing one is a protocol change.
describe("cross-process contracts", () => {
  it("keeps the wire names", () => {
    expect([streams.events.name, streams.control.name]).toEqual(["SB_EVT", "SB_CTL"]);
    expect(subjects.channel(ID)).toBe(`sb.evt.channel.${ID}`);
    expect(subjects.team(ID)).toBe(`sb.evt.team.${ID}`);
    expect(subjects.user(ID)).toBe(`sb.evt.user.${ID}`);
    expect(subjects.everyone).toBe("sb.evt.all");
    expect(subjects.sessionRevoked(ID)).toBe(`sb.ctl.session.revoked.${ID}`);
    expect(subjects.outboxWake("posts")).toBe("sb.ctl.outbox.posts");
    expect(subjects.resumeClaim(ID)).toBe(`sb.ctl.resume.${ID}`);
    expect(subjects.allResumeClaims).toBe("sb.ctl.resume.*");
    expect(subjects.gatewayCanary(ID)).toBe(`sb.ctl.canary.${ID}`);
    expect(subjects.gatewayLoad(ID)).toBe(`sb.ctl.load.${ID}`);
    expect(subjects.allGatewayLoads).toBe("sb.ctl.load.*");
    expect(kvBuckets.presence.name).toBe("sb_presence");
    expect(natsHeaders.msgId).toBe("Nats-Msg-Id");
    expect(EventName.SessionRevoked).toBe("sb_session_revoked");
  });

  it("puts every event subject in the event stream, session control in the control stream, wake-ups in none", () => {
    const inStream = (subject: string, filter: string) => subject.startsWith(filter.slice(0, -1));
    for (const s of [subjects.channel(ID), subjects.team(ID), subjects.user(ID), subjects.everyone]) {
      expect(streams.events.subjects.some((f) => inStream(s, f))).toBe(true);
      expect(parseEventSubject(s)).toBeDefined();
    }
    expect(streams.control.subjects.some((f) => inStream(subjects.sessionRevoked(ID), f))).toBe(true);
    for (const st of Object.values(streams)) expect(st.subjects.some((f) => inStream(subjects.outboxWake("posts"), f))).toBe(false);
    expect(subjectContracts.outboxWake.stream).toBeNull();
    // Resume claims are request/reply between live gateways: never stored.
    for (const st of Object.values(streams)) expect(st.subjects.some((f) => inStream(subjects.resumeClaim(ID), f))).toBe(false);
    expect(subjectContracts.resumeClaim.stream).toBeNull();
    for (const st of Object.values(streams)) expect(st.subjects.some((f) => inStream(subjects.gatewayCanary(ID), f))).toBe(false);
    expect(subjectContracts.gatewayCanary.stream).toBeNull();
    for (const st of Object.values(streams)) expect(st.subjects.some((f) => inStream(subjects.gatewayLoad(ID), f))).toBe(false);
    expect(subjectContracts.gatewayLoad.stream).toBeNull();
    expect(subjectContracts.sessionRevoked.stream).toBe("control");
  });

  it("refuses ids and tags that could inject wildcards", () => {
    for (const bad of ["*", ">", "a".repeat(25) + "."]) {
      expect(() => subjects.channel(bad)).toThrow();
      expect(() => subjects.sessionRevoked(bad)).toThrow();
      expect(() => subjects.resumeClaim(bad)).toThrow();
    }
    expect(() => subjects.outboxWake("a.b")).toThrow();
    expect(() => isolatedBucket(kvBuckets.presence, "a.b")).toThrow(/invalid bucket tag/);
    expect(isolatedBucket(kvBuckets.presence, "t1")).toBe("sb_presence_t1");
  });

  it("has one reason per close code, reconnecting codes in 4000-4499 and final ones in 4500-4999", () => {
    const codes = Object.values(CloseCode);
    expect(new Set(codes).size).toBe(codes.length);
    for (const c of codes) expect(CloseReason[c], String(c)).toMatch(/^[ -~]{1,60}$/);
    for (const c of [CloseCode.ServerShuttingDown, CloseCode.SlowConsumer, CloseCode.TooManyConnections, CloseCode.RateLimited]) {
      expect(c >= 4000 && c < 4500).toBe(true);
    }
    for (const c of [
      CloseCode.AuthenticationFailed,
      CloseCode.SessionRevoked,
      CloseCode.ProtocolViolation,
      CloseCode.BadResumeParameters,
      CloseCode.QueueOverflow,
      CloseCode.EventsLost,
    ]) {
      expect(c >= 4500 && c < 5000).toBe(true);
    }
  });

  it("resume versions: a holder answers older claims in their version and newer ones in its own", () => {
    expect(resumeProtocol.oldest).toBeLessThanOrEqual(resumeProtocol.current);
    expect(answerVersion(resumeProtocol.current)).toBe(resumeProtocol.current);
    expect(answerVersion(resumeProtocol.current + 1)).toBe(resumeProtocol.current);
    expect(answerVersion(resumeProtocol.oldest - 1)).toBeUndefined();
    expect(understands(resumeProtocol.current)).toBe(true);
    expect(understands(resumeProtocol.current + 1)).toBe(false);
    expect(understands(0)).toBe(false);
  });
});
