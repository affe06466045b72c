import { describe, expect, it } from "vitest";
import { requestHeaderError, trailerHeaderError } from "./header-rules.js";

const GRPC = [":method", "POST", ":scheme", "http", ":path", "/a.B/C", ":authority", "localhost", "content-type", "application/grpc", "te", "trailers"];

describe("request header rules (RFC 9113 §8.2-8.3)", () => {
  it("accepts what gRPC clients send, and CONNECT with :method and :authority only", () => {
    expect(requestHeaderError(GRPC)).toBeUndefined();
    expect(requestHeaderError([...GRPC, "user-agent", "grpc-node-js/1.14.7", "x-bin", "\u00ff\u0080"])).toBeUndefined();
    expect(requestHeaderError([":method", "CONNECT", ":authority", "h:1"])).toBeUndefined();
  });

  it.each([
    ["an upper-case name", [...GRPC, "X-A", "1"]],
    ["a name with a space", [...GRPC, "x a", "1"]],
    ["an empty name", [...GRPC, "", "1"]],
    ["connection", [...GRPC, "connection", "close"]],
    ["proxy-connection", [...GRPC, "proxy-connection", "x"]],
    ["keep-alive", [...GRPC, "keep-alive", "5"]],
    ["transfer-encoding", [...GRPC, "transfer-encoding", "chunked"]],
    ["upgrade", [...GRPC, "upgrade", "h2c"]],
    ["te other than trailers", [...GRPC.slice(0, 10), "te", "gzip"]],
    ["a pseudo-header after a regular field", [...GRPC, ":authority", "x"]],
    ["a repeated pseudo-header", [":path", "/x", ...GRPC]],
    ["an unknown pseudo-header", [":protocol", "websocket", ...GRPC]],
    ["a response pseudo-header", [":status", "200", ...GRPC]],
    ["no :scheme", [":method", "POST", ":path", "/x"]],
    ["an empty :path", [":method", "POST", ":scheme", "http", ":path", ""]],
    ["CONNECT with :path", [":method", "CONNECT", ":authority", "h:1", ":path", "/"]],
    ["CR in a value", [...GRPC, "x", "a\rb"]],
    ["LF in a value", [...GRPC, "x", "a\nb"]],
    ["NUL in a value", [...GRPC, "x", "a\0b"]],
    ["a leading space", [...GRPC, "x", " a"]],
    ["a trailing tab", [...GRPC, "x", "a\t"]],
    ["LF in a pseudo-header", [":method", "POST\n", ":scheme", "http", ":path", "/x"]],
  ])("refuses %s", (_, fields) => {
    expect(requestHeaderError(fields)).toBeDefined();
  });

  it("refuses pseudo-headers and bad fields in trailers, accepts plain ones", () => {
    expect(trailerHeaderError(["x-checksum", "abc"])).toBeUndefined();
    expect(trailerHeaderError([":path", "/x"])).toBeDefined();
    expect(trailerHeaderError(["X-A", "1"])).toBeDefined();
    expect(trailerHeaderError(["connection", "close"])).toBeDefined();
  });
});
