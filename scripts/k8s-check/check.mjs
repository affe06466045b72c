// make k8s-check: every overlay of k8s/ (and production with each optional component) is
// rendered with `kubectl kustomize`, every object validated offline against the schemas of
// Kubernetes 1.36 and of its CRD, unknown fields refused, then the policies checked
// (policy.mjs), the NATS configuration compared with its generator, and every metric that a
// rule or a dashboard names looked up in the code's registries.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { ensureDevSecrets } from "./dev-secrets.mjs";
import { codeMetricNames, metricProblems } from "./metrics.mjs";
import { natsConfText } from "./nats-conf.mjs";
import { policyProblems } from "./policy.mjs";
import { render } from "./render.mjs";
import { validateObject } from "./schemas.mjs";

const OVERLAYS = ["dev", "production", "local"];
/** Optional components, each checked on top of the production overlay. */
const OPTIONAL_COMPONENTS = ["ingress", "envoy-gateway", "beside-mattermost"];
/** The generated NATS configurations: file under k8s/, and the cluster size it is for. */
const NATS_CONFS = [
  { file: "base/nats/nats.conf", replicas: 3 },
  { file: "overlays/dev/nats.conf", replicas: 1 },
];

/** Writes the generated files (the NATS configurations). */
export function writeGenerated(k8sDir) {
  for (const c of NATS_CONFS) writeFileSync(join(k8sDir, c.file), natsConfText({ replicas: c.replicas }));
}

/** kustomize prints Secret data base64 in lines of 70: the API server's decoder joins them, the schema's format check does not. */
function normalise(o) {
  if (o.kind !== "Secret" || !o.data) return o;
  return { ...o, data: Object.fromEntries(Object.entries(o.data).map(([k, v]) => [k, String(v).replace(/\s+/g, "")])) };
}

async function checkObjects(name, objects, knownMetrics) {
  const problems = [];
  for (const o of objects) {
    for (const p of await validateObject(normalise(o))) problems.push(`${name}: ${o.kind}/${o.metadata?.name}: ${p}`);
  }
  for (const p of policyProblems(objects)) problems.push(`${name}: ${p}`);
  for (const p of metricProblems(objects, knownMetrics)) problems.push(`${name}: ${p}`);
  return problems;
}

/**
 * Checks a k8s/ tree (the repository's, or a copy); `repo` is where the code's metric
 * registries are read; `overlays` and `components` narrow what is rendered. Returns the
 * problems and what was checked.
 */
export async function checkTree(k8sDir, { repo = resolve(k8sDir, ".."), overlays = OVERLAYS, components = OPTIONAL_COMPONENTS } = {}) {
  const problems = [];
  const checked = [];
  for (const c of NATS_CONFS) {
    const path = join(k8sDir, c.file);
    if (!existsSync(path) || readFileSync(path, "utf8") !== natsConfText({ replicas: c.replicas })) {
      problems.push(`k8s/${c.file} differs from its generator: run node scripts/k8s-check/main.mjs --write`);
    }
  }
  for (const o of ["dev", "local"]) ensureDevSecrets(join(k8sDir, "overlays", o, "secrets"), o === "local" ? { databaseHost: "127.0.0.1" } : {});
  const knownMetrics = await codeMetricNames(repo);
  const variants = overlays.map((o) => ({ name: `overlays/${o}`, dir: join(k8sDir, "overlays", o) }));
  // Beside the tree: kustomize wants relative paths, which a folder elsewhere could not always give.
  const tmp = mkdtempSync(join(k8sDir, ".check-"));
  try {
    for (const c of components) {
      const dir = join(tmp, c);
      const kustomization = [
        "apiVersion: kustomize.config.k8s.io/v1beta1",
        "kind: Kustomization",
        "namespace: switchboard",
        "resources:",
        `  - ${relative(dir, join(k8sDir, "overlays/production"))}`,
        "components:",
        `  - ${relative(dir, join(k8sDir, "components", c))}`,
        "",
      ].join("\n");
      mkdirSync(dir);
      writeFileSync(join(dir, "kustomization.yaml"), kustomization);
      variants.push({ name: `overlays/production + components/${c}`, dir });
    }
    // Rendered side by side (each kubectl is a process of its own), checked in order.
    const renders = await Promise.allSettled(variants.map((v) => render(v.dir)));
    for (const [i, v] of variants.entries()) {
      const r = renders[i];
      if (r.status === "rejected") {
        problems.push(`${v.name}: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`);
        continue;
      }
      problems.push(...(await checkObjects(v.name, r.value, knownMetrics)));
      checked.push({ name: v.name, objects: r.value });
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return { problems, checked };
}
