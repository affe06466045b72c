// What overlays/local (what make k8s-smoke runs under podman) changes from overlays/production,
// beyond what it may: Secrets become ConfigMaps, replicas (and the NATS replication factors
// that follow them), networking (ports, host network, listen hosts and addresses, the site's
// URL and cookies, Services, NetworkPolicies, routes, an in-cluster NATS in place of the
// machine's), scaling (HPA, ScaledObject, PDBs, topology spread), and objects only an API
// server with its operators could use (Namespace, ServiceAccounts, cert-manager, monitoring).
// Everything else of the four Deployments (images by name, commands, env, envFrom, volumes and
// their mounts, securityContext, resources, probes, lifecycle, grace periods) must be equal.
import { join } from "node:path";
import { ensureDevSecrets } from "./dev-secrets.mjs";
import { render } from "./render.mjs";

const DEPLOYMENTS = ["gateway", "posts", "accounts", "presence"];

/** Kinds that may be in production only, each with why. */
const PRODUCTION_ONLY = {
  Service: "networking",
  NetworkPolicy: "networking",
  HTTPRoute: "networking",
  StatefulSet: "networking: NATS is the machine's",
  HorizontalPodAutoscaler: "scaling",
  ScaledObject: "scaling",
  PodDisruptionBudget: "scaling",
  Namespace: "API server",
  ServiceAccount: "API server",
  Certificate: "Secrets: the TLS Secrets cert-manager makes are ConfigMaps in local",
  Issuer: "Secrets",
  ServiceMonitor: "API server (Prometheus Operator)",
  PodMonitor: "API server (Prometheus Operator)",
  PrometheusRule: "API server (Prometheus Operator)",
};
/** ConfigMaps production has and local need not: NATS's own configuration, the Grafana dashboard. */
const PRODUCTION_ONLY_CONFIGMAPS = /^(nats-config|switchboard-dashboard|grafana-)/;

/** Env of networking (ports, hosts, addresses, the site) and of replication (replicas). */
const NETWORK_ENV = /(_PORT|_HOST|_ADDR)$|^SB_NATS_URL$|^SB_GATEWAY_SITE_URL$|^SB_GATEWAY_SECURE_COOKIES$/;
const REPLICA_ENV = /_REPLICAS$/;

/** A Secret's or ConfigMap's name without kustomize's hash, and local's per-component NATS ConfigMaps as the one Secret. */
const sourceName = (n) => n.replace(/-[a-z0-9]{10}$/, "").replace(/^switchboard-nats-(gateway|posts|accounts|presence)$/, "switchboard-nats-users");

function normaliseProbe(p) {
  if (!p) return p;
  const { httpGet, grpc, ...rest } = p;
  // The port is networking (a name in production, the number under host network in local).
  return { ...rest, ...(httpGet ? { httpGet: { ...httpGet, port: "<port>" } } : {}), ...(grpc ? { grpc: { ...grpc, port: "<port>" } } : {}) };
}

function normaliseContainer(c) {
  const { ports: _ports, imagePullPolicy: _pull, image, env = [], envFrom = [], ...rest } = c;
  return {
    ...rest,
    image: image.replace(/^.*\//, "").replace(/:.*$/, ""),
    env: env
      .filter((e) => !NETWORK_ENV.test(e.name) && !REPLICA_ENV.test(e.name))
      .map((e) => {
        const ref = e.valueFrom?.secretKeyRef ?? e.valueFrom?.configMapKeyRef;
        return ref ? { name: e.name, from: `${sourceName(ref.name)}/${ref.key}` } : e;
      })
      // A patch of an env entry moves it: the order of env is not a difference.
      .sort((a, b) => a.name.localeCompare(b.name)),
    envFrom: envFrom.map((f) => ({ from: sourceName((f.secretRef ?? f.configMapRef).name) })),
    startupProbe: normaliseProbe(c.startupProbe),
    readinessProbe: normaliseProbe(c.readinessProbe),
    livenessProbe: normaliseProbe(c.livenessProbe),
  };
}

function normaliseVolume(v) {
  const src = v.secret ?? v.configMap;
  if (!src) return v;
  const { secretName, name, ...rest } = src;
  return { name: v.name, from: sourceName(secretName ?? name), ...rest };
}

/** The Deployment with the allowed differences taken out. */
function normaliseDeployment(d) {
  const { replicas: _replicas, template, ...spec } = d.spec;
  const { hostNetwork: _hn, serviceAccountName: _sa, topologySpreadConstraints: _tsc, containers, volumes = [], ...pod } = template.spec;
  return {
    metadata: { name: d.metadata.name, labels: d.metadata.labels },
    spec: {
      ...spec,
      template: { metadata: template.metadata, spec: { ...pod, containers: containers.map(normaliseContainer), volumes: volumes.map(normaliseVolume) } },
    },
  };
}

const key = (o) => `${o.kind}/${o.metadata?.name}`;

/** Renders both overlays of a k8s/ tree; returns each difference beyond the allowed ones. */
export async function overlayDifferences(k8sDir) {
  ensureDevSecrets(join(k8sDir, "overlays/local/secrets"), { databaseHost: "127.0.0.1" });
  const [production, local] = await Promise.all([render(join(k8sDir, "overlays/production")), render(join(k8sDir, "overlays/local"))]);
  const problems = [];
  const localKeys = new Set(local.map(key));
  for (const o of production) {
    if (localKeys.has(key(o)) || o.kind === "Secret") continue;
    if (o.kind === "ConfigMap" && PRODUCTION_ONLY_CONFIGMAPS.test(o.metadata.name)) continue;
    if (o.kind === "StatefulSet" && o.metadata.name !== "nats") problems.push(`${key(o)} is in production only`);
    else if (!PRODUCTION_ONLY[o.kind] && o.kind !== "ConfigMap") problems.push(`${key(o)} is in production only`);
    else if (o.kind === "ConfigMap") problems.push(`${key(o)} is in production only`);
  }
  const productionKeys = new Set(production.map(key));
  for (const o of local) {
    if (productionKeys.has(key(o))) continue;
    if (o.kind !== "ConfigMap") problems.push(`${key(o)} is in local only`);
  }
  for (const name of DEPLOYMENTS) {
    const p = production.find((o) => o.kind === "Deployment" && o.metadata.name === name);
    const l = local.find((o) => o.kind === "Deployment" && o.metadata.name === name);
    if (!p || !l) {
      problems.push(`Deployment/${name} is missing from ${p ? "local" : "production"}`);
      continue;
    }
    for (const d of diff(normaliseDeployment(p), normaliseDeployment(l), `Deployment/${name}`)) problems.push(d);
  }
  return problems;
}

/** Paths at which two JSON values differ. */
function diff(a, b, at) {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  if (a && b && typeof a === "object" && typeof b === "object") {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => diff(a[k], b[k], `${at}.${k}`));
  }
  return [`${at}: production ${JSON.stringify(a)}, local ${JSON.stringify(b)}`];
}
