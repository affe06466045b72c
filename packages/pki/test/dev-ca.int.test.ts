/**
 * The dev CA made with the openssl command: a CA, and per component a leaf it signed, usable
 * by servers and clients, naming the component as a SPIFFE id, its key readable by its owner
 * alone; made once by ensureDevPki and kept across runs.
 */
import { afterAll, describe, expect, it } from "vitest";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { COMPONENTS, caFiles, ensureDevPki, identityFiles, workloadOfSubjectAltName } from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "sb-pki-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the dev CA", () => {
  it("issues a leaf per component, signed by the CA, for server and client use", () => {
    ensureDevPki(dir, { dnsNames: ["switchboard.example"] });
    const ca = new X509Certificate(readFileSync(caFiles(dir).certFile));
    expect(ca.ca).toBe(true);
    for (const c of COMPONENTS) {
      const f = identityFiles(dir, c);
      const leaf = new X509Certificate(readFileSync(f.certFile));
      expect(leaf.ca).toBe(false);
      expect(leaf.verify(ca.publicKey)).toBe(true);
      expect(leaf.checkIssued(ca)).toBe(true);
      expect(workloadOfSubjectAltName(leaf.subjectAltName)).toBe(c);
      expect(leaf.subjectAltName).toContain("DNS:switchboard.example");
      expect(leaf.checkIP("127.0.0.1")).toBe("127.0.0.1");
      expect(leaf.keyUsage).toEqual(expect.arrayContaining(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]));
      expect(statSync(f.keyFile).mode & 0o077).toBe(0);
    }
    expect(statSync(caFiles(dir).keyFile).mode & 0o077).toBe(0);
  });

  it("is made once: a second ensure keeps the CA and its leaves", () => {
    const before = readFileSync(identityFiles(dir, "posts").certFile);
    ensureDevPki(dir);
    expect(readFileSync(identityFiles(dir, "posts").certFile).equals(before)).toBe(true);
  });

  it("issues a missing leaf from the CA it has", () => {
    rmSync(identityFiles(dir, "presence").certFile);
    const caBefore = readFileSync(caFiles(dir).certFile);
    ensureDevPki(dir);
    expect(readFileSync(caFiles(dir).certFile).equals(caBefore)).toBe(true);
    expect(new X509Certificate(readFileSync(identityFiles(dir, "presence").certFile)).checkIssued(new X509Certificate(caBefore))).toBe(true);
  });
});

describe("the folder of the dev CA", () => {
  it("is private, and the parents it makes on the way are not", () => {
    const parent = join(dir, "made-on-the-way");
    ensureDevPki(join(parent, "pki"));
    expect(statSync(join(parent, "pki")).mode & 0o077).toBe(0);
    expect(statSync(parent).mode & 0o055).toBe(0o055 & ~process.umask());
  });
});
