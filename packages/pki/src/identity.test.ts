import { describe, expect, it } from "vitest";
import { spiffeId, workloadOfSubjectAltName } from "./identity.js";

describe("workloadOfSubjectAltName", () => {
  it("finds the workload of the first spiffe://switchboard URI", () => {
    expect(workloadOfSubjectAltName(`DNS:localhost, URI:${spiffeId("posts")}, IP Address:127.0.0.1`)).toBe("posts");
    expect(workloadOfSubjectAltName("URI:spiffe://switchboard/gateway, URI:spiffe://switchboard/posts")).toBe("gateway");
  });

  it("names nobody for another trust domain, a path, a DNS name alone, or nothing", () => {
    expect(workloadOfSubjectAltName("URI:spiffe://elsewhere/posts")).toBeUndefined();
    expect(workloadOfSubjectAltName("URI:spiffe://switchboard/posts/extra")).toBeUndefined();
    expect(workloadOfSubjectAltName("URI:spiffe://switchboard.evil/posts")).toBeUndefined();
    expect(workloadOfSubjectAltName("DNS:posts")).toBeUndefined();
    expect(workloadOfSubjectAltName(undefined)).toBeUndefined();
  });
});
