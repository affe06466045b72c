import { describe, expect, it } from "vitest";
import { UpgradeAdmission } from "./upgrade-admission.js";

describe("UpgradeAdmission", () => {
  it("refuses beyond the upgrades in progress until one leaves", () => {
    const a = new UpgradeAdmission({ maxInProgress: 2, ratePerSec: 0, burst: 1 });
    expect([a.enter(), a.enter(), a.enter()]).toEqual(["ok", "ok", "ws_upgrades_in_progress"]);
    a.leave();
    expect(a.enter()).toBe("ok");
    expect(a.current).toBe(2);
  });

  it("refuses above the rate once the burst is spent", () => {
    const a = new UpgradeAdmission({ maxInProgress: 0, ratePerSec: 1, burst: 3 });
    const v = Array.from({ length: 5 }, () => a.enter());
    expect(v.slice(0, 3)).toEqual(["ok", "ok", "ok"]);
    expect(v.slice(3)).toEqual(["ws_upgrade_rate", "ws_upgrade_rate"]);
  });
});
