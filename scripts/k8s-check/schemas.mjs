// Offline schemas: Kubernetes 1.36's own (kubernetes-models 5.1.0) and those of each CRD the
// manifests use (@kubernetes-models/{prometheus-operator,keda,gateway-api,cert-manager,
// envoy-gateway}). Their validators check types, enums and required fields, but let unknown
// fields through; fields() finds those by watching which properties a validator reads: a
// compiled JSON-schema validator reads every property its schema declares (and every key of a
// map), so a property it never read is one the schema does not know, as if every object
// schema had additionalProperties: false.
export const KUBERNETES_RELEASE = "1.36 (kubernetes-models 5.1.0)";

/** The package holding each API group's schemas (the core group is "v1"). */
const CRD_PACKAGES = {
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
  "keda.sh": "@kubernetes-models/keda",
  "gateway.networking.k8s.io": "@kubernetes-models/gateway-api",
  "cert-manager.io": "@kubernetes-models/cert-manager",
  "gateway.envoyproxy.io": "@kubernetes-models/envoy-gateway",
};

const models = new Map();

/** The model of a kind, imported on first use (one module per kind: loading them all takes seconds). */
async function modelOf(apiVersion, kind) {
  const key = `${apiVersion}/${kind}`;
  if (!models.has(key)) {
    const group = apiVersion.includes("/") ? apiVersion.split("/")[0] : "";
    const pkg = CRD_PACKAGES[group] ?? (group === "" || !group.includes(".") || group.endsWith(".k8s.io") ? "kubernetes-models" : undefined);
    let model;
    if (pkg && /^[A-Za-z0-9./-]+$/.test(apiVersion) && /^[A-Za-z0-9]+$/.test(kind)) {
      try {
        const mod = await import(`${pkg}/${apiVersion}/${kind}`);
        model = mod[kind];
      } catch {
        model = undefined;
      }
    }
    models.set(key, model?.apiVersion === apiVersion && model?.kind === kind ? model : undefined);
  }
  return models.get(key);
}

/** Problems of one object: schema violations, then fields the schema does not declare. */
export async function validateObject(obj) {
  const model = await modelOf(obj.apiVersion, obj.kind);
  if (!model) return [`no schema for ${obj.apiVersion} ${obj.kind}`];
  const read = new Set();
  const proxies = new WeakMap();
  const wrap = (o, path) => {
    let p = proxies.get(o);
    if (p) return p;
    p = new Proxy(o, {
      get(t, k, r) {
        const v = Reflect.get(t, k, r);
        if (typeof k !== "string" || !Object.hasOwn(t, k)) return v;
        const at = `${path}/${k}`;
        read.add(at);
        return v && typeof v === "object" ? wrap(v, at) : v;
      },
    });
    proxies.set(o, p);
    return p;
  };
  try {
    model.prototype.validate.call(wrap(obj, ""));
  } catch (e) {
    return [`schema: ${e.message}`];
  }
  const unknown = [];
  const walk = (o, path) => {
    if (Array.isArray(o)) o.forEach((v, i) => walk(v, `${path}/${i}`));
    else if (o && typeof o === "object") {
      for (const k of Object.keys(o)) {
        const at = `${path}/${k}`;
        if (!read.has(at)) unknown.push(`unknown field ${at}`);
        else walk(o[k], at);
      }
    }
  };
  walk(obj, "");
  return unknown;
}
