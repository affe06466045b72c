// Policies of a rendered overlay, beyond what the schemas say (k8s/README.md lists them).
import { deployableRoles } from "@switchboard/bus";
import { deployables, envNames, gatewayNatsDrainBudgetMs } from "./deployables.mjs";
import {
  expectedPermissions,
  LAME_DUCK_DURATION_S,
  LAME_DUCK_GRACE_PERIOD_S,
  NATS_CLIENT_PORT,
  NATS_CLUSTER_PORT,
  NATS_MONITOR_PORT,
  routeEnv,
} from "./nats-conf.mjs";

/** What terminationGracePeriodSeconds keeps beyond the process's own deadline. */
const GRACE_MARGIN_S = 5;
/** A scale-down of the gateways is a drain of every socket of a pod: wait this long at least. */
const MIN_GATEWAY_SCALE_DOWN_WINDOW_S = 600;
const WORKLOADS = new Set(["Deployment", "StatefulSet"]);
const PINNED = /^(?:v?\d+\.\d+(?:\.\d+)?(?:[-+.][0-9A-Za-z.-]+)?)$/;

const id = (o) => `${o.kind}/${o.metadata?.name}`;
const matches = (selector, labels) => Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => labels?.[k] === v) && !selector?.matchExpressions;
const ms = (env, name, schema) => {
  const v = env[name];
  if (v !== undefined) return Number(v);
  const f = Object.values(schema).find((x) => x.env === name);
  return f?.default;
};

/** The env a container starts with: its envFrom ConfigMaps, then env (values from Secrets and fields stand in). */
function effectiveEnv(container, objects) {
  const env = {};
  for (const src of container.envFrom ?? []) {
    const cm = src.configMapRef && objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === src.configMapRef.name);
    Object.assign(env, cm?.data ?? {});
  }
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.configMapKeyRef) {
      const r = e.valueFrom.configMapKeyRef;
      env[e.name] = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === r.name)?.data?.[r.key] ?? "";
    } else env[e.name] = e.name === "DATABASE_URL" ? "postgres://switchboard:secret@postgres:5432/switchboard" : "from-a-secret-or-field";
  }
  return env;
}

function containerPolicies(o, c, pod, problems) {
  const at = `${id(o)} container ${c.name}`;
  for (const p of ["startupProbe", "readinessProbe", "livenessProbe"]) if (!c[p]) problems.push(`${at}: no ${p}`);
  for (const k of ["requests", "limits"]) {
    for (const r of ["cpu", "memory"]) if (!c.resources?.[k]?.[r]) problems.push(`${at}: no resources.${k}.${r}`);
  }
  const sc = c.securityContext ?? {};
  const psc = pod.securityContext ?? {};
  if (sc.privileged) problems.push(`${at}: privileged`);
  if (sc.allowPrivilegeEscalation !== false) problems.push(`${at}: allowPrivilegeEscalation is not false`);
  if (sc.readOnlyRootFilesystem !== true) problems.push(`${at}: readOnlyRootFilesystem is not true`);
  if (!(sc.capabilities?.drop ?? []).includes("ALL")) problems.push(`${at}: capabilities.drop does not hold ALL`);
  if ((sc.capabilities?.add ?? []).length > 0) problems.push(`${at}: adds capabilities ${sc.capabilities.add.join(", ")}`);
  if ((sc.runAsNonRoot ?? psc.runAsNonRoot) !== true) problems.push(`${at}: runAsNonRoot is not true`);
  if ((sc.runAsUser ?? psc.runAsUser) === 0) problems.push(`${at}: runs as uid 0`);
  if ((sc.seccompProfile ?? psc.seccompProfile)?.type !== "RuntimeDefault") problems.push(`${at}: seccompProfile is not RuntimeDefault`);
  const image = String(c.image ?? "");
  const digest = /@sha256:[0-9a-f]{64}$/.test(image);
  const tag = image.replace(/@.*$/, "").match(/:([^/:]+)$/)?.[1];
  if (!digest && (!tag || !PINNED.test(tag))) problems.push(`${at}: image ${image} is not pinned to a version (tag ${tag ?? "none"})`);
  const pre = c.lifecycle?.preStop?.exec?.command ?? [];
  if (pre.some((a) => /(^|\/)(sleep|sh|bash)$/.test(a)))
    problems.push(`${at}: preStop runs ${pre.join(" ")}: use lifecycle.preStop.sleep (the images have no shell)`);
  if (sc.readOnlyRootFilesystem === true && deployables[c.name] && !(c.volumeMounts ?? []).some((m) => m.mountPath === "/tmp")) {
    problems.push(`${at}: a read-only root filesystem needs a writable /tmp (an emptyDir)`);
  }
}

function gracePolicy(o, c, pod, env, problems) {
  const grace = pod.terminationGracePeriodSeconds ?? 30;
  const hookS = c.lifecycle?.preStop?.sleep?.seconds ?? 0;
  const at = `${id(o)}`;
  let needS;
  let sum;
  if (c.name === "gateway") {
    const s = deployables.gateway.schema;
    const steps = {
      "preStop sleep": hookS * 1000,
      SB_GATEWAY_PRESTOP_DELAY_MS: ms(env, "SB_GATEWAY_PRESTOP_DELAY_MS", s),
      SB_GATEWAY_DRAIN_SPREAD_MS: ms(env, "SB_GATEWAY_DRAIN_SPREAD_MS", s),
      SB_GATEWAY_RESUME_HANDOVER_MS: ms(env, "SB_GATEWAY_RESUME_HANDOVER_MS", s),
      "NATS drain": gatewayNatsDrainBudgetMs(),
    };
    const drainMs = Object.values(steps).reduce((a, b) => a + b, 0);
    const deadlineMs = hookS * 1000 + ms(env, "SB_GATEWAY_SHUTDOWN_DEADLINE_MS", s);
    needS = Math.max(drainMs, deadlineMs) / 1000 + GRACE_MARGIN_S;
    sum = `${Object.entries(steps)
      .map(([k, v]) => `${k} ${v / 1000} s`)
      .join(" + ")} = ${drainMs / 1000} s; shutdown deadline ${deadlineMs / 1000} s; + ${GRACE_MARGIN_S} s margin`;
  } else if (deployables[c.name]) {
    const name = `SB_${c.name.toUpperCase()}_SHUTDOWN_DEADLINE_MS`;
    const deadline = ms(env, name, deployables[c.name].schema);
    needS = hookS + deadline / 1000 + GRACE_MARGIN_S;
    sum = `preStop sleep ${hookS} s + ${name} ${deadline / 1000} s + ${GRACE_MARGIN_S} s margin`;
  } else if (c.name === "nats") {
    needS = LAME_DUCK_GRACE_PERIOD_S + LAME_DUCK_DURATION_S + GRACE_MARGIN_S;
    sum = `lame-duck grace ${LAME_DUCK_GRACE_PERIOD_S} s + lame-duck duration ${LAME_DUCK_DURATION_S} s + ${GRACE_MARGIN_S} s margin`;
  } else return;
  if (grace < needS) problems.push(`${at}: terminationGracePeriodSeconds ${grace} is shorter than the drain: ${sum} = ${needS} s`);
}

function switchboardContainerPolicies(o, c, pod, objects, problems) {
  const at = `${id(o)} container ${c.name}`;
  const env = effectiveEnv(c, objects);
  const d = deployables[c.name];
  // Listeners bind 127.0.0.1 by default: a pod's must be reachable (host networking keeps loopback).
  for (const name of envNames(c.name)) {
    if (!/_(LISTEN_HOST|OPS_HOST|GRPC_HOST)$/.test(name)) continue;
    const want = pod.hostNetwork ? ["127.0.0.1", "0.0.0.0"] : ["0.0.0.0"];
    if (!want.includes(env[name])) problems.push(`${at}: ${name} is ${env[name] ?? "unset (127.0.0.1)"}, not ${want.join(" or ")}`);
  }
  for (const name of Object.keys(env)) if (!envNames(c.name).has(name)) problems.push(`${at}: env ${name} is read by no setting of ${c.name}`);
  try {
    const { warnings } = d.load(env);
    for (const w of warnings) problems.push(`${at}: ${w}`);
  } catch (e) {
    problems.push(`${at}: ${c.name} would refuse this configuration: ${e.message}`);
  }
  if (env.SB_NATS_USER !== c.name) problems.push(`${at}: SB_NATS_USER is ${env.SB_NATS_USER ?? "unset"}, not ${c.name}`);
  // overlays/local has one ConfigMap per component (podman fills a ConfigMap's volume once, for every pod).
  const isNatsUsers = (n) => n === "switchboard-nats-users" || n === `switchboard-nats-${c.name}` || /^switchboard-nats-users-[a-z0-9]{10}$/.test(n ?? "");
  const natsVolume = (pod.volumes ?? []).find((v) => isNatsUsers(v.secret?.secretName) || isNatsUsers(v.configMap?.name));
  const key = (natsVolume?.secret ?? natsVolume?.configMap)?.items?.[0]?.key;
  if (key !== c.name) problems.push(`${at}: mounts the NATS password of ${key ?? "nobody"}, not its own`);
  gracePolicy(o, c, pod, env, problems);
}

/** The port env of each named container port, per deployable. */
function portEnv(name) {
  const C = name.toUpperCase();
  return name === "gateway"
    ? { http: "SB_GATEWAY_LISTEN_PORT", ops: "SB_GATEWAY_OPS_PORT" }
    : { grpc: `SB_${C}_GRPC_PORT`, "grpc-health": `SB_${C}_GRPC_HEALTH_PORT`, ops: `SB_${C}_OPS_PORT` };
}

/** A setting's value in a container's env, or the schema's default. */
function setting(name, env, envName) {
  return env[envName] ?? Object.values(deployables[name].schema).find((f) => f.env === envName)?.default;
}

/**
 * Ports and addresses agree with what the processes read: each named containerPort and each
 * probe port is the port its setting makes the process listen on, and each address a caller
 * is given (SB_<C>_<SERVICE>_ADDR) names that service and the port it serves gRPC on.
 */
function portPolicies(objects, problems) {
  const containers = [];
  for (const o of objects) {
    if (!WORKLOADS.has(o.kind)) continue;
    const pod = o.spec.template.spec;
    for (const c of pod.containers) if (deployables[c.name]) containers.push({ o, pod, c, env: effectiveEnv(c, objects) });
  }
  const grpcPort = Object.fromEntries(containers.map(({ c, env }) => [c.name, Number(setting(c.name, env, `SB_${c.name.toUpperCase()}_GRPC_PORT`))]));
  for (const { o, pod, c, env } of containers) {
    const at = `${id(o)} container ${c.name}`;
    const want = Object.fromEntries(Object.entries(portEnv(c.name)).map(([port, e]) => [port, Number(setting(c.name, env, e))]));
    for (const p of c.ports ?? []) {
      if (want[p.name] === undefined) problems.push(`${at}: port ${p.name} is served by no setting of ${c.name}`);
      else if (p.containerPort !== want[p.name])
        problems.push(`${at}: port ${p.name} is ${p.containerPort}, but ${portEnv(c.name)[p.name]} makes it ${want[p.name]}`);
    }
    for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
      const h = c[probe];
      if (!h) continue;
      const port = h.grpc?.port ?? h.httpGet?.port;
      const expected = h.grpc ? want["grpc-health"] : want.ops;
      const resolved = typeof port === "string" ? want[port] : port;
      if (resolved !== expected) problems.push(`${at}: ${probe} goes to port ${port}, not ${h.grpc ? "the gRPC health port" : "the ops port"} (${expected})`);
    }
    for (const [k, v] of Object.entries(env)) {
      const m = k.match(/^SB_[A-Z]+_(POSTS|ACCOUNTS|PRESENCE)_ADDR$/);
      if (!m) continue;
      const target = m[1].toLowerCase();
      // dns:///<service>:<port>: the client resolves every pod of the headless Service (round_robin).
      const [host, port] = String(v)
        .replace(/^dns:\/\/\//, "")
        .split(":");
      if (grpcPort[target] !== undefined && Number(port) !== grpcPort[target])
        problems.push(`${at}: ${k} is ${v}, but ${target} serves gRPC on ${grpcPort[target]}`);
      const service = objects.find((s) => s.kind === "Service" && s.metadata.name === host);
      if (pod.hostNetwork ? host !== "127.0.0.1" : !service || service.spec.selector?.["app.kubernetes.io/name"] !== target) {
        problems.push(`${at}: ${k} is ${v}, which does not name the ${target} Service`);
      } else if (service && !(service.spec.ports ?? []).some((p) => p.port === Number(port)))
        problems.push(`${at}: ${k} is ${v}, a port Service/${host} does not have`);
    }
  }
}

/**
 * The Secrets an operator creates before applying production (k8s/README.md "Install"); every
 * other Secret or ConfigMap a pod names must be in the render, or made by a Certificate.
 */
const OPERATOR_SECRETS = new Set(["switchboard-database", "switchboard-nats-users", "switchboard-accounts-kek"]);

function referencePolicies(objects, problems) {
  const have = new Set(objects.filter((o) => o.kind === "Secret" || o.kind === "ConfigMap").map((o) => `${o.kind}/${o.metadata.name}`));
  for (const o of objects) if (o.kind === "Certificate") have.add(`Secret/${o.spec.secretName}`);
  for (const o of objects) {
    if (!WORKLOADS.has(o.kind)) continue;
    const pod = o.spec.template.spec;
    const refs = [];
    for (const v of pod.volumes ?? []) {
      if (v.secret) refs.push(`Secret/${v.secret.secretName}`);
      if (v.configMap) refs.push(`ConfigMap/${v.configMap.name}`);
    }
    for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
      for (const f of c.envFrom ?? []) refs.push(f.secretRef ? `Secret/${f.secretRef.name}` : `ConfigMap/${f.configMapRef?.name}`);
      for (const e of c.env ?? []) {
        if (e.valueFrom?.secretKeyRef) refs.push(`Secret/${e.valueFrom.secretKeyRef.name}`);
        if (e.valueFrom?.configMapKeyRef) refs.push(`ConfigMap/${e.valueFrom.configMapKeyRef.name}`);
      }
    }
    for (const r of new Set(refs)) {
      if (!have.has(r) && !(r.startsWith("Secret/") && OPERATOR_SECRETS.has(r.slice(7)))) problems.push(`${id(o)}: names ${r}, which nothing makes`);
    }
  }
}

/** A Gateway API / Envoy duration ("1h30m", "300s", "500ms") in seconds. */
function durationS(d) {
  const units = { h: 3600, m: 60, s: 1, ms: 0.001 };
  let total = 0;
  for (const m of String(d).matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) total += Number(m[1]) * units[m[2]];
  return total;
}

/**
 * The way in never cuts a live WebSocket: no HTTPRoute rule to the gateways has a request
 * timeout (a WebSocket is one request for its whole life; "0s" turns it off), and every idle
 * timeout on the path outlives the gateway's ping interval (half SB_GATEWAY_IDLE_TIMEOUT_S).
 */
function trafficPolicies(objects, problems) {
  const gw = objects.find((o) => o.kind === "Deployment" && o.metadata.name === "gateway");
  const c = gw?.spec.template.spec.containers.find((x) => x.name === "gateway");
  if (!c) return;
  const pingS = Number(setting("gateway", effectiveEnv(c, objects), "SB_GATEWAY_IDLE_TIMEOUT_S")) / 2;
  for (const o of objects) {
    if (o.kind === "HTTPRoute") {
      for (const [i, r] of (o.spec.rules ?? []).entries()) {
        if (!(r.backendRefs ?? []).some((b) => b.name === "gateway")) continue;
        const t = r.timeouts?.request;
        if (t === undefined || durationS(t) !== 0) {
          problems.push(
            `${id(o)}: rule ${i} to the gateways has request timeout ${t ?? "unset (the implementation's default)"}: set "0s", or it cuts WebSockets`,
          );
        }
      }
    }
    if (o.kind === "BackendTrafficPolicy") {
      const h = o.spec.timeout?.http ?? {};
      if (h.requestTimeout !== undefined && durationS(h.requestTimeout) !== 0) problems.push(`${id(o)}: requestTimeout ${h.requestTimeout} cuts WebSockets`);
      if (h.connectionIdleTimeout !== undefined && durationS(h.connectionIdleTimeout) <= pingS) {
        problems.push(`${id(o)}: connectionIdleTimeout ${h.connectionIdleTimeout} is not longer than the gateway's ping interval (${pingS} s)`);
      }
    }
    if (o.kind === "Ingress") {
      for (const a of ["nginx.ingress.kubernetes.io/proxy-read-timeout", "nginx.ingress.kubernetes.io/proxy-send-timeout"]) {
        const v = Number(o.metadata.annotations?.[a] ?? 60);
        if (v <= pingS) problems.push(`${id(o)}: ${a} ${v} s is not longer than the gateway's ping interval (${pingS} s)`);
      }
    }
  }
}

function replicasOf(o, objects) {
  const hpa = objects.find(
    (h) => h.kind === "HorizontalPodAutoscaler" && h.spec.scaleTargetRef.name === o.metadata.name && h.spec.scaleTargetRef.kind === o.kind,
  );
  const so = objects.find((h) => h.kind === "ScaledObject" && h.spec.scaleTargetRef.name === o.metadata.name);
  return { min: so ? (so.spec.minReplicaCount ?? 0) : hpa ? (hpa.spec.minReplicas ?? 1) : (o.spec.replicas ?? 1), scaled: Boolean(hpa || so) };
}

/** The NATS StatefulSet agrees with its generated configuration: ports, and the route URLs it composes. */
function natsWorkloadPolicies(objects, problems) {
  const sts = objects.find((o) => o.kind === "StatefulSet" && o.metadata.name === "nats");
  if (!sts) return;
  const c = sts.spec.template.spec.containers.find((x) => x.name === "nats");
  const ports = Object.fromEntries((c?.ports ?? []).map((p) => [p.name, p.containerPort]));
  const want = { client: NATS_CLIENT_PORT, cluster: NATS_CLUSTER_PORT, monitor: NATS_MONITOR_PORT };
  for (const [name, port] of Object.entries(want)) {
    if (ports[name] !== port) problems.push(`${id(sts)}: port ${name} is ${ports[name] ?? "missing"}, not ${port} (the generated nats.conf's)`);
  }
  const replicas = sts.spec.replicas ?? 1;
  const env = Object.fromEntries((c?.env ?? []).map((e) => [e.name, e.value]));
  if (replicas > 1) {
    for (const r of routeEnv(replicas)) if (env[r.name] !== r.value) problems.push(`${id(sts)}: ${r.name} is ${env[r.name] ?? "unset"}, not ${r.value}`);
  }
}

function natsPolicies(objects, problems) {
  natsWorkloadPolicies(objects, problems);
  const cm = objects.find((o) => o.kind === "ConfigMap" && o.data?.["nats.conf"]);
  if (!cm) return;
  let conf;
  try {
    conf = JSON.parse(cm.data["nats.conf"].replace(/^#.*$/gm, "").replace(/(:\s*|\[\s*|,\s*)\$([A-Za-z0-9_]+)/g, '$1"$$$2"'));
  } catch (e) {
    problems.push(`ConfigMap/${cm.metadata.name}: nats.conf does not parse: ${e.message}`);
    return;
  }
  const users = conf.authorization?.users ?? [];
  const want = expectedPermissions();
  const names = users.map((u) => u.user).sort();
  if (names.join() !== [...deployableRoles].sort().join())
    problems.push(`ConfigMap/${cm.metadata.name}: NATS users ${names.join(", ")}, not ${[...deployableRoles].join(", ")}`);
  for (const u of users) {
    const w = want[u.user];
    if (!w) continue;
    const got = u.permissions ?? {};
    const same = (a, b) => JSON.stringify([...(a ?? [])].sort()) === JSON.stringify([...(b ?? [])].sort());
    for (const dir of ["publish", "subscribe"]) {
      if (!same(got[dir]?.allow, w[dir].allow) || !same(got[dir]?.deny, w[dir].deny)) {
        problems.push(`ConfigMap/${cm.metadata.name}: NATS user ${u.user} ${dir} permissions differ from the generator's (@switchboard/bus natsPermissions)`);
      }
    }
    if (Boolean(got.allow_responses) !== w.allowResponses)
      problems.push(`ConfigMap/${cm.metadata.name}: NATS user ${u.user} allow_responses differs from the generator's`);
    if (typeof u.password !== "string" || !/^\$[A-Z0-9_]+$/.test(u.password))
      problems.push(`ConfigMap/${cm.metadata.name}: NATS user ${u.user}'s password is not a variable (a password in a ConfigMap)`);
  }
}

/** Every problem of one rendered overlay. */
export function policyProblems(objects) {
  const problems = [];
  const ns = objects.find((o) => o.kind === "Namespace");
  if (ns && ns.metadata.labels?.["pod-security.kubernetes.io/enforce"] !== "restricted")
    problems.push(`${id(ns)}: not labelled pod-security.kubernetes.io/enforce=restricted`);
  const namespaces = new Set(objects.filter((o) => o.kind !== "Namespace").map((o) => o.metadata?.namespace ?? "(none)"));
  if (namespaces.size > 1 || namespaces.has("(none)"))
    problems.push(
      `objects in namespaces ${[...namespaces].join(", ")}: every object belongs in one (set namespace: in the overlay, so generated Secrets land there and references to them are rewritten)`,
    );
  for (const o of objects) {
    if (o.kind === "ServiceAccount" && o.automountServiceAccountToken !== false) problems.push(`${id(o)}: automountServiceAccountToken is not false`);
    if (o.kind === "Service" && (o.spec.ports ?? []).some((p) => p.name === "grpc") && o.spec.clusterIP !== "None") {
      problems.push(`${id(o)}: a gRPC Service must be headless (clusterIP: None), so callers see every pod`);
    }
    if (o.kind === "ScaledObject" && o.spec.scaleTargetRef.name === "gateway") {
      const w = o.spec.advanced?.horizontalPodAutoscalerConfig?.behavior?.scaleDown?.stabilizationWindowSeconds ?? 300;
      if (w < MIN_GATEWAY_SCALE_DOWN_WINDOW_S)
        problems.push(`${id(o)}: scale-down stabilization ${w} s is below ${MIN_GATEWAY_SCALE_DOWN_WINDOW_S} s (each scale-down drains a gateway)`);
    }
    if (!WORKLOADS.has(o.kind)) continue;
    const pod = o.spec.template.spec;
    if (pod.automountServiceAccountToken !== false) problems.push(`${id(o)}: automountServiceAccountToken is not false`);
    const sa = objects.find((s) => s.kind === "ServiceAccount" && s.metadata.name === pod.serviceAccountName);
    if (!pod.hostNetwork && !sa) problems.push(`${id(o)}: no ServiceAccount of its own (serviceAccountName ${pod.serviceAccountName ?? "unset"})`);
    if (o.kind === "Deployment") {
      const ru = o.spec.strategy?.rollingUpdate;
      if (o.spec.strategy?.type !== "RollingUpdate" || ru?.maxSurge === undefined || ru?.maxUnavailable === undefined) {
        problems.push(`${id(o)}: rollout without explicit maxSurge and maxUnavailable`);
      }
    }
    for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
      containerPolicies(o, c, pod, problems);
      if (deployables[c.name]) switchboardContainerPolicies(o, c, pod, objects, problems);
      else gracePolicy(o, c, pod, {}, problems);
    }
    const labels = o.spec.template.metadata?.labels;
    const pdbs = objects.filter((p) => p.kind === "PodDisruptionBudget" && matches(p.spec.selector, labels));
    const { min, scaled } = replicasOf(o, objects);
    if ((min > 1 || (scaled && min !== 1)) && pdbs.length === 0) problems.push(`${id(o)}: ${min} replicas and no PodDisruptionBudget`);
    if (!scaled && min <= 1) {
      for (const p of pdbs) {
        if (p.spec.maxUnavailable === 0 || p.spec.maxUnavailable === "0%" || (p.spec.minAvailable !== undefined && p.spec.minAvailable !== 0)) {
          problems.push(`${id(p)}: blocks every eviction of ${id(o)}, which has one replica (a node could not be drained)`);
        }
      }
    }
  }
  natsPolicies(objects, problems);
  portPolicies(objects, problems);
  referencePolicies(objects, problems);
  trafficPolicies(objects, problems);
  return problems;
}
