#!/usr/bin/env node
/**
 * `sb-dev-pki <folder> [dns name...]`: the dev CA and a certificate per component in a folder,
 * made when missing (make dev, make cluster; Kubernetes manifests mount the same files).
 */
import { resolve } from "node:path";
import { ensureDevPki } from "./dev-ca.js";

const [dir, ...dnsNames] = process.argv.slice(2);
if (dir === undefined) {
  process.stderr.write("usage: sb-dev-pki <folder> [extra DNS name...]\n");
  process.exit(2);
}
ensureDevPki(resolve(dir), { dnsNames });
process.stdout.write(`${resolve(dir)}\n`);
