import { describe, expect, it } from "vitest";
import { ConfigError } from "@switchboard/config";
import { loadPostsConfig } from "./config.js";

describe("posts config", () => {
  it("has working defaults", () => {
    const { config, warnings } = loadPostsConfig({});
    expect(config).toMatchObject({ grpcPort: 9101, opsPort: 9201, accountsAddr: "127.0.0.1:9102", eventStorage: "file", grpcDefaultDeadlineMs: 10_000 });
    expect(warnings).toEqual([]);
  });

  it("reports every problem at once and warns about unknown SB_POSTS_ variables", () => {
    let err: unknown;
    try {
      loadPostsConfig({ SB_POSTS_ACCOUNTS_ADDR: "no port", SB_POSTS_GRPC_PORT: "70000", SB_POSTS_EVENT_STORAGE: "disk", DATABASE_URL: "mysql://x" });
    } catch (e: unknown) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join("\n");
    for (const key of ["SB_POSTS_ACCOUNTS_ADDR", "SB_POSTS_GRPC_PORT", "SB_POSTS_EVENT_STORAGE", "DATABASE_URL"]) expect(problems).toContain(key);
    expect(loadPostsConfig({ SB_POSTS_GRPC_PROT: "1" }).warnings).toEqual(["unknown variable SB_POSTS_GRPC_PROT"]);
  });
});
