// Renders a kustomization with `kubectl kustomize` (kustomize built into kubectl; offline).
import { execFileSync } from "node:child_process";
import { parseAllDocuments } from "yaml";

export function render(dir) {
  let text;
  try {
    text = execFileSync("kubectl", ["kustomize", dir], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 * 1024 * 1024 });
  } catch (e) {
    if (e.code === "ENOENT") throw new Error("kubectl is missing: make k8s-check renders the overlays with `kubectl kustomize` (kubectl 1.27 or later)");
    throw new Error(`kubectl kustomize ${dir} failed: ${String(e.stderr ?? e.message).trim()}`);
  }
  return parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`${dir}: ${d.errors[0].message}`);
      return d.toJSON();
    })
    .filter((o) => o && typeof o === "object");
}
