import { describe, expect, it } from "vitest";
import { bool, ConfigError, duration, int, list, loadConfig, oneOf, redactedConfig, str, url } from "./index.js";

const schema = {
  port: int({ env: "SB_T_PORT", description: "port", default: 0, min: 0, max: 65535 }),
  host: str({ env: "SB_T_HOST", description: "host", default: "127.0.0.1" }),
  debug: bool({ env: "SB_T_DEBUG", description: "debug", default: false }),
  ttl: duration({ env: "SB_T_TTL_MS", description: "ttl", default: 1000 }),
  mode: oneOf({ env: "SB_T_MODE", description: "mode", values: ["a", "b"] as const, default: "a" }),
  peers: list({ env: "SB_T_PEERS", description: "peers", default: [] }),
  db: url({ env: "DATABASE_URL", description: "db", default: "", secret: false, protocols: ["postgres", "postgresql"] }),
  secret: str({ env: "SB_T_SECRET", description: "secret", secret: true }),
};

describe("loadConfig", () => {
  it("applies defaults and parses values", () => {
    const { config, warnings } = loadConfig(schema, { SB_T_PORT: "8080", SB_T_DEBUG: "true", SB_T_PEERS: "a, b,,c", SB_T_SECRET: "s3" }, { prefix: "SB_T_" });
    expect(config.port).toBe(8080);
    expect(config.host).toBe("127.0.0.1");
    expect(config.debug).toBe(true);
    expect(config.ttl).toBe(1000);
    expect(config.peers).toEqual(["a", "b", "c"]);
    expect(warnings).toEqual([]);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("reports every problem at once", () => {
    let err: unknown;
    try {
      loadConfig(schema, { SB_T_PORT: "http", SB_T_DEBUG: "maybe", SB_T_MODE: "c", SB_T_TTL_MS: "-1", DATABASE_URL: "mysql://x" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    expect(problems).toHaveLength(6);
    expect(problems.join("\n")).toMatch(/SB_T_PORT must be an integer/);
    expect(problems.join("\n")).toMatch(/SB_T_DEBUG must be true or false/);
    expect(problems.join("\n")).toMatch(/SB_T_MODE must be one of a, b/);
    expect(problems.join("\n")).toMatch(/SB_T_TTL_MS must be >= 0/);
    expect(problems.join("\n")).toMatch(/DATABASE_URL must use postgres or postgresql/);
    expect(problems.join("\n")).toMatch(/SB_T_SECRET is required/);
  });

  it("warns about unknown variables under the prefix", () => {
    const { warnings } = loadConfig(schema, { SB_T_SECRET: "x", SB_T_PROT: "1" }, { prefix: "SB_T_" });
    expect(warnings).toEqual(["unknown variable SB_T_PROT"]);
  });

  it("redacts secrets and URL passwords", () => {
    const { config } = loadConfig(schema, { SB_T_SECRET: "x", DATABASE_URL: "postgres://u:pw@h/db" });
    const shown = redactedConfig(schema, config);
    expect(shown.SB_T_SECRET).toBe("[redacted]");
    expect(shown.DATABASE_URL).toBe("postgres://u:redacted@h/db");
  });
});
