// make k8s-check fails on broken manifests: a copy of k8s/ with one break of each kind it
// must catch, each found by its own message; and the same copy unbroken passes.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { subjects } from "@switchboard/bus";
import { topology } from "@switchboard/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkTree } from "./check.mjs";
import { promqlMetricNames } from "./metrics.mjs";
import { promtoolProblems } from "./promtool.mjs";

const repo = resolve(import.meta.dirname, "../..");
const only = { repo, overlays: ["production"], components: [] };
let tmp;

function copyTree() {
  const dir = join(tmp, `k8s-${Math.random().toString(36).slice(2)}`);
  cpSync(join(repo, "k8s"), dir, { recursive: true, filter: (src) => !/\/\.check-/.test(src) });
  return dir;
}

function edit(dir, file, from, to) {
  const path = join(dir, file);
  const text = readFileSync(path, "utf8");
  if (!text.includes(from)) throw new Error(`${file} has no ${JSON.stringify(from)}: the test's break no longer applies`);
  writeFileSync(path, text.replace(from, to));
}

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "k8s-check-test-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("make k8s-check", () => {
  it("passes the production overlay as committed", async () => {
    const { problems, checked } = await checkTree(copyTree(), only);
    expect(problems).toEqual([]);
    expect(checked[0].objects.length).toBeGreaterThan(30);
  }, 120_000);

  it("fails on each kind of break, each with its own message", async () => {
    const dir = copyTree();
    // A misspelled field in a Deployment (which kubernetes-models' own validate() lets through) and in a CRD.
    edit(dir, "base/gateway/deployment.yaml", "  revisionHistoryLimit: 5", "  revisionHistoryLimt: 5");
    edit(dir, "overlays/production/autoscaling.yaml", "  minReplicaCount: 3", "  minReplicaCont: 3");
    // A missing probe.
    edit(
      dir,
      "base/posts/deployment.yaml",
      "          readinessProbe:\n            grpc:\n              port: 9301\n            periodSeconds: 5\n            timeoutSeconds: 2\n            failureThreshold: 2\n",
      "",
    );
    // A privileged container.
    edit(
      dir,
      "base/presence/deployment.yaml",
      "            allowPrivilegeEscalation: false\n",
      "            allowPrivilegeEscalation: false\n            privileged: true\n",
    );
    // A grace period shorter than the gateway's drain.
    edit(dir, "base/gateway/deployment.yaml", "terminationGracePeriodSeconds: 30", "terminationGracePeriodSeconds: 20");
    // An unpinned image.
    edit(
      dir,
      "base/kustomization.yaml",
      '    newName: ghcr.io/switchboard/switchboard-accounts\n    newTag: "0.1.0"',
      "    newName: ghcr.io/switchboard/switchboard-accounts\n    newTag: latest",
    );
    // A NATS user allowed more than the generator gives it.
    // (every subject under the ephemeral family's root, not only that family)
    const eph = JSON.stringify(subjects.allEphemeral);
    const everything = JSON.stringify(subjects.allEphemeral.replace(/\.[^.]+\.>$/, ".>"));
    edit(dir, "base/nats/nats.conf", `"allow": [\n              ${eph},`, `"allow": [\n              ${everything},\n              ${eph},`);
    // A rule naming a metric no registry has.
    edit(dir, "components/monitoring/prometheusrule.yaml", "rate(sb_gateway_slow_closes_total[5m])", "rate(sb_gateway_slow_close_total[5m])");
    // An env name the gateway does not read, and a port the posts service refuses.
    edit(dir, "base/gateway/deployment.yaml", "name: SB_GATEWAY_IDLE_TIMEOUT_S", "name: SB_GATEWAY_IDLE_TIMEOT_S");
    edit(dir, "base/posts/deployment.yaml", 'name: SB_POSTS_GRPC_PORT\n              value: "9101"', 'name: SB_POSTS_GRPC_PORT\n              value: "99999"');
    // A container port and a caller's address that are not what the processes use.
    edit(dir, "base/presence/deployment.yaml", "              containerPort: 9203", "              containerPort: 9213");
    edit(dir, "base/gateway/deployment.yaml", "value: dns:///presence:9103", "value: dns:///presence:9104");
    // A Secret name nothing makes.
    edit(dir, "base/gateway/deployment.yaml", "secretName: switchboard-gateway-tls", "secretName: switchboard-gatway-tls");
    // A multi-replica Deployment without a disruption budget.
    edit(dir, "overlays/production/pdbs.yaml", "  name: accounts\n", "  name: accounts-elsewhere\n");
    edit(dir, "overlays/production/pdbs.yaml", "      app.kubernetes.io/name: accounts\n", "      app.kubernetes.io/name: accounts-elsewhere\n");

    const { problems } = await checkTree(dir, only);
    const text = problems.join("\n");
    const expected = [
      /Deployment\/gateway: unknown field \/spec\/revisionHistoryLimt/,
      /ScaledObject\/gateway: unknown field \/spec\/minReplicaCont/,
      /Deployment\/posts container posts: no readinessProbe/,
      /Deployment\/presence container presence: privileged/,
      /Deployment\/gateway: terminationGracePeriodSeconds 20 is shorter than the drain: .* = 30 s/,
      /Deployment\/accounts container accounts: image ghcr.io\/switchboard\/switchboard-accounts:latest is not pinned/,
      /k8s\/base\/nats\/nats.conf differs from its generator/,
      /NATS user gateway publish permissions differ from the generator's/,
      /metric sb_gateway_slow_close_total is in no registry/,
      /container gateway: env SB_GATEWAY_IDLE_TIMEOT_S is read by no setting of gateway/,
      /container posts: posts would refuse this configuration: [\s\S]*SB_POSTS_GRPC_PORT must be <= 65535/,
      /Deployment\/accounts: 2 replicas and no PodDisruptionBudget/,
      /Deployment\/gateway: names Secret\/switchboard-gatway-tls, which nothing makes/,
      /container presence: port ops is 9213, but SB_PRESENCE_OPS_PORT makes it 9203/,
      /container gateway: SB_GATEWAY_PRESENCE_ADDR is dns:\/\/\/presence:9104, but presence serves gRPC on 9103/,
    ];
    for (const re of expected) expect(text).toMatch(re);
    // Nothing else broke: every problem is one of the breaks (or follows from one).
    const consequences = [
      /unknown variable SB_GATEWAY_IDLE_TIMEOT_S/,
      /99999/,
      /SB_GATEWAY_PRESENCE_ADDR is dns:\/\/\/presence:9104, a port Service\/presence does not have/,
    ];
    const unexplained = problems.filter((p) => ![...expected, ...consequences].some((re) => re.test(p)));
    expect(unexplained).toEqual([]);
  }, 120_000);
});

describe("make k8s-check on the way in", () => {
  it("refuses a route that would cut WebSockets, and idle timeouts shorter than the gateway's pings", async () => {
    const dir = copyTree();
    edit(dir, "components/httproute/httproute.yaml", 'request: "0s"', 'request: "30s"');
    edit(dir, "components/envoy-gateway/backend-traffic-policy.yaml", "connectionIdleTimeout: 300s", "connectionIdleTimeout: 45s");
    edit(dir, "components/ingress/ingress.yaml", 'proxy-read-timeout: "3600"', 'proxy-read-timeout: "50"');
    const { problems } = await checkTree(dir, { repo, overlays: [], components: ["envoy-gateway", "ingress"] });
    const text = problems.join("\n");
    expect(text).toMatch(/HTTPRoute\/switchboard: rule 0 to the gateways has request timeout 30s/);
    expect(text).toMatch(/BackendTrafficPolicy\/switchboard-websocket: connectionIdleTimeout 45s is not longer than the gateway's ping interval \(56 s\)/);
    expect(text).toMatch(/Ingress\/switchboard: nginx.ingress.kubernetes.io\/proxy-read-timeout 50 s is not longer/);
  }, 120_000);
});

describe("make k8s-check on an overlay without its namespace", () => {
  it("sees generated Secrets left outside the namespace, and the references kustomize then leaves unrewritten", async () => {
    const dir = copyTree();
    edit(dir, "overlays/dev/kustomization.yaml", "namespace: switchboard\n", "");
    const { problems } = await checkTree(dir, { repo, overlays: ["dev"], components: [] });
    const text = problems.join("\n");
    expect(text).toMatch(/objects in namespaces switchboard, \(none\)/);
    expect(text).toMatch(/Deployment\/gateway: names Secret\/switchboard-gateway-tls, which nothing makes/);
  }, 120_000);
});

/** Where the production overlay and make cluster (the local cluster launcher's topology) disagree. */
function launcherDrift(objects) {
  const t = topology("full", 20_000);
  const env = (name) => {
    const d = objects.find((o) => o.kind === "Deployment" && o.metadata.name === name);
    return Object.fromEntries(d.spec.template.spec.containers[0].env.map((e) => [e.name, e.value]));
  };
  const want = [
    ["gateway", "SB_GATEWAY_PRESTOP_DELAY_MS", t.gateway.preStopDelayMs],
    ["gateway", "SB_GATEWAY_SHUTDOWN_DEADLINE_MS", t.gateway.shutdownDeadlineMs],
    ["gateway", "SB_GATEWAY_IDLE_TIMEOUT_S", t.gateway.idleTimeoutS],
    ["posts", "SB_POSTS_EVENT_REPLICAS", t.natsReplicas],
    ["accounts", "SB_ACCOUNTS_CONTROL_REPLICAS", t.natsReplicas],
    ["presence", "SB_PRESENCE_KV_REPLICAS", t.natsReplicas],
  ];
  const drift = want.filter(([d, k, v]) => env(d)[k] !== String(v)).map(([d, k, v]) => `${d} ${k}=${env(d)[k]}, make cluster ${v}`);
  const nats = objects.find((o) => o.kind === "StatefulSet" && o.metadata.name === "nats");
  if (nats.spec.replicas !== t.natsNodes) drift.push(`NATS ${nats.spec.replicas} nodes, make cluster ${t.natsNodes}`);
  return drift;
}

describe("one source of truth", () => {
  it("the production overlay runs the gateway's drain, the stream replicas and the NATS cluster as make cluster does", async () => {
    const { checked } = await checkTree(copyTree(), only);
    const objects = checked[0].objects;
    expect(launcherDrift(objects)).toEqual([]);
    // Broken once: a pre-stop delay that is not the launcher's is seen.
    const gw = objects.find((o) => o.kind === "Deployment" && o.metadata.name === "gateway");
    gw.spec.template.spec.containers[0].env.find((e) => e.name === "SB_GATEWAY_PRESTOP_DELAY_MS").value = "4000";
    expect(launcherDrift(objects)).toEqual(["gateway SB_GATEWAY_PRESTOP_DELAY_MS=4000, make cluster 5000"]);
  }, 120_000);
});

describe("PromQL metric names", () => {
  it("reads metric names, not functions, labels, matchers or ranges", () => {
    const expr = 'sum by (namespace, pod) (rate(sb_a_total{code=~"x|y"}[5m]) + rate(b_total[1h])) / on (pod) group_left c_seconds_bucket > 1';
    expect([...promqlMetricNames(expr)].sort()).toEqual(["b_total", "c_seconds_bucket", "sb_a_total"]);
  });
});

describe("promtool check rules", () => {
  const rule = (expr) => [
    {
      name: "t",
      objects: [{ kind: "PrometheusRule", metadata: { name: "r" }, spec: { groups: [{ name: "g", rules: [{ alert: "A", expr, for: "1m" }] }] } }],
    },
  ];
  it("passes a valid rule and fails a broken one", () => {
    expect(promtoolProblems(rule("sum(rate(sb_gateway_slow_closes_total[5m])) > 1"))).toEqual([]);
    const broken = promtoolProblems(rule("sum(rate(sb_gateway_slow_closes_total[5m]) > 1"));
    expect(broken.join("\n")).toMatch(/PrometheusRule\/r: promtool check rules: .*(parse error|unclosed)/s);
  });
});
