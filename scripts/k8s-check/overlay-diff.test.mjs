// overlays/local differs from overlays/production only where it may (overlay-diff.mjs): as
// committed, and not once a copy's local overlay also changes the securityContext, a resource
// limit or a grace period.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { overlayDifferences } from "./overlay-diff.mjs";

const repo = resolve(import.meta.dirname, "../..");
const tmp = mkdtempSync(join(tmpdir(), "overlay-diff-test-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("the local overlay beside production", () => {
  it("differs only in Secrets as ConfigMaps, replicas, networking and scaling objects", async () => {
    expect(await overlayDifferences(join(repo, "k8s"))).toEqual([]);
  }, 60_000);

  it("is caught changing anything else", async () => {
    const dir = join(tmp, "k8s");
    cpSync(join(repo, "k8s"), dir, { recursive: true, filter: (src) => !/\/\.check-|\/overlays\/[a-z]+\/secrets/.test(src) });
    const file = join(dir, "overlays/local/kustomization.yaml");
    const text = readFileSync(file, "utf8");
    const breaks = [
      "  - target:\n      kind: Deployment\n      name: gateway\n    patch: |-",
      '      - {"op": "replace", "path": "/spec/template/spec/containers/0/securityContext/readOnlyRootFilesystem", "value": false}',
      '      - {"op": "replace", "path": "/spec/template/spec/containers/0/resources/limits/memory", "value": "4Gi"}',
      '      - {"op": "replace", "path": "/spec/template/spec/terminationGracePeriodSeconds", "value": 5}',
      "",
    ].join("\n");
    writeFileSync(file, text + breaks);
    const problems = await overlayDifferences(dir);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^Deployment\/gateway\.spec\.template\.spec\.containers\.0\.securityContext\.readOnlyRootFilesystem: production true, local false$/,
        ),
        expect.stringMatching(/^Deployment\/gateway\.spec\.template\.spec\.containers\.0\.resources\.limits\.memory: production "\w+", local "4Gi"$/),
        expect.stringMatching(/^Deployment\/gateway\.spec\.template\.spec\.terminationGracePeriodSeconds: production 30, local 5$/),
      ]),
    );
    expect(problems).toHaveLength(3);
  }, 60_000);
});
