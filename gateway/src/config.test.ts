import { describe, expect, it } from "vitest";
import { ConfigError } from "@switchboard/config";
import { loadGatewayConfig, NATS_DRAIN_BUDGET_MS } from "./config.js";

describe("gateway configuration", () => {
  it("reads the drain settings under the names the launchers use", () => {
    const { config } = loadGatewayConfig({
      SB_GATEWAY_PRESTOP_DELAY_MS: "3000",
      SB_GATEWAY_DRAIN_SPREAD_MS: "4000",
      SB_GATEWAY_RESUME_HANDOVER_MS: "7000",
      SB_GATEWAY_RESUME_CLAIM_TIMEOUT_MS: "500",
    });
    expect([config.preStopDelayMs, config.drainSpreadMs, config.resumeHandoverMs, config.resumeClaimTimeoutMs]).toEqual([3000, 4000, 7000, 500]);
  });

  it("fits the default drain in the default shutdown deadline", () => {
    const { config } = loadGatewayConfig({});
    expect(config.preStopDelayMs + config.drainSpreadMs + config.resumeHandoverMs + NATS_DRAIN_BUDGET_MS).toBeLessThan(config.shutdownDeadlineMs);
  });

  it("refuses a drain that cannot end before the shutdown deadline, naming the settings", () => {
    const load = () =>
      loadGatewayConfig({ SB_GATEWAY_PRESTOP_DELAY_MS: "10000", SB_GATEWAY_RESUME_HANDOVER_MS: "12000", SB_GATEWAY_SHUTDOWN_DEADLINE_MS: "25000" });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/SB_GATEWAY_PRESTOP_DELAY_MS .* \(26000 ms\) must be below SB_GATEWAY_SHUTDOWN_DEADLINE_MS \(25000 ms\)/);
  });
});
