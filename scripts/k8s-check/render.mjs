// Renders a kustomization with `kubectl kustomize` (kustomize built into kubectl; offline).
import { execFile } from "node:child_process";
import { parseAllDocuments } from "yaml";

export function render(dir) {
  return new Promise((resolve, reject) => {
    execFile("kubectl", ["kustomize", dir], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }, (e, stdout, stderr) => {
      if (e) {
        if (e.code === "ENOENT") reject(new Error("kubectl is missing: make k8s-check renders the overlays with `kubectl kustomize` (kubectl 1.27 or later)"));
        else reject(new Error(`kubectl kustomize ${dir} failed: ${String(stderr || e.message).trim()}`));
        return;
      }
      try {
        resolve(
          parseAllDocuments(stdout)
            .map((d) => {
              if (d.errors.length > 0) throw new Error(`${dir}: ${d.errors[0].message}`);
              return d.toJSON();
            })
            .filter((o) => o && typeof o === "object"),
        );
      } catch (err) {
        reject(err);
      }
    });
  });
}
