// The older build the rolling-upgrade acceptance test starts from (SB_UPGRADE_FROM, or the
// test's default), built under .tmp/builds/ ahead of the test: make test runs this in the
// background while lint, k8s-check and k8s-smoke run, so the test finds it built instead of
// spending a minute on npm ci and tsc -b inside the test run.
import { buildAtCommit, upgradeBaseCommit } from "@switchboard/testkit";

const ref = upgradeBaseCommit();
const b = buildAtCommit(ref);
console.log(`older build ${ref} (${b.commit.slice(0, 12)}) ${b.cached ? "already built" : `built in ${String(b.ms)} ms`} under ${b.root}`);
