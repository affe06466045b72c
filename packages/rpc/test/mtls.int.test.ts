/**
 * Service identity on both gRPC servers (our own HTTP/2 and @grpc/grpc-js's), over real TLS
 * on loopback: ALPN h2; a caller without a certificate, or with one from another CA, is
 * UNAUTHENTICATED; a component outside the method's allowlist is PERMISSION_DENIED; an
 * allowed one is served; the client refuses a server that is not the component it expects;
 * the plaintext health port answers grpc.health.v1 without credentials and nothing else;
 * rotated certificate files are taken up without a restart; a client without a certificate
 * (service tokens) trusts the CA file alone and takes up a rotated one.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { randomBytes } from "node:crypto";
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import { createDevPki, identityFiles } from "@switchboard/pki";
import { PresenceService } from "@switchboard/proto/presence";
import { createRpcClient, createRpcServer, createTokenSigner, RPC_SERVER_TRANSPORTS, type ImplOf, type RpcServer } from "../src/index.js";
import { callCode, rawTlsClient, tlsServerOptions, useTestPki } from "./pki-fixture.js";

const ACQUIRE = "/sb.presence.v1.PresenceService/AcquireLease";
const HEALTH = "/grpc.health.v1.Health/Check";

const impl: ImplOf<typeof PresenceService> = {
  acquireLease: async () => ({ leaseId: "lease-1", ttlMs: 1_000n }),
  report: async () => ({}),
  releaseLease: async () => ({}),
  setStatus: async () => ({}),
  getStatus: async (req) => ({ status: { userId: req.userId, status: "online" } }),
  getStatuses: async () => ({}),
  listActiveStatuses: async () => ({}),
};

const pki = useTestPki();

describe.each(RPC_SERVER_TRANSPORTS)("mTLS on the %s server", (transport) => {
  let server: RpcServer;
  let port: number;
  const closers: (() => void)[] = [];
  const as = (workload: string | undefined, files = workload === undefined ? undefined : pki().files(workload)) => {
    const c = rawTlsClient(port, pki().files("gateway").caFile, "presence", files);
    closers.push(() => c.close());
    return c.client;
  };

  beforeAll(async () => {
    server = createRpcServer({ ...tlsServerOptions(pki().files("presence"), transport), healthPort: 0 });
    server.add(PresenceService, impl);
    port = await server.start();
    server.health.setServing(true);
  });
  afterAll(async () => {
    for (const c of closers) c();
    await server.stop(1_000);
  });

  it("negotiates h2 by ALPN", async () => {
    const files = pki().files("gateway");
    const alpn = await new Promise<string | false | null>((resolve, reject) => {
      const s = tlsConnect(
        {
          host: "127.0.0.1",
          port,
          ALPNProtocols: ["h2"],
          ca: readFileSync(files.caFile),
          cert: readFileSync(files.certFile),
          key: readFileSync(files.keyFile),
          servername: "localhost",
        },
        () => {
          resolve(s.alpnProtocol);
          s.destroy();
        },
      );
      s.on("error", reject);
    });
    expect(alpn).toBe("h2");
  });

  it("answers UNAUTHENTICATED without a client certificate, and with one from another CA", async () => {
    expect(await callCode(as(undefined), ACQUIRE)).toBe(grpc.status.UNAUTHENTICATED);
    expect(await callCode(as(undefined), HEALTH)).toBe(grpc.status.UNAUTHENTICATED);
    expect(await callCode(as("gateway", pki().foreign), ACQUIRE)).toBe(grpc.status.UNAUTHENTICATED);
  });

  it("answers PERMISSION_DENIED to a component outside the allowlist, and to a workload no allowlist names", async () => {
    expect(await callCode(as("posts"), ACQUIRE)).toBe(grpc.status.PERMISSION_DENIED);
    expect(await callCode(as("intruder"), ACQUIRE)).toBe(grpc.status.PERMISSION_DENIED);
  });

  it("serves an allowed component, through the typed client", async () => {
    const c = createRpcClient(PresenceService, {
      address: `127.0.0.1:${port}`,
      defaultDeadlineMs: 5_000,
      tls: { ...pki().files("gateway"), server: "presence" },
    });
    closers.push(() => c.close());
    expect((await c.acquireLease({})).leaseId).toBe("lease-1");
  });

  it("the client refuses a server that is not the component it expects", async () => {
    const c = createRpcClient(PresenceService, { address: `127.0.0.1:${port}`, defaultDeadlineMs: 1_500, tls: { ...pki().files("gateway"), server: "posts" } });
    closers.push(() => c.close());
    const code = await c.acquireLease({}).then(
      () => "ok",
      (e: { code?: string }) => e.code,
    );
    expect(["unavailable", "deadline_exceeded"]).toContain(code);
  });

  it("answers grpc.health.v1, and nothing else, on the plaintext health port without credentials", async () => {
    expect(server.healthPort).toBeGreaterThan(0);
    const plain = new grpc.Client(`127.0.0.1:${server.healthPort!}`, grpc.credentials.createInsecure());
    closers.push(() => plain.close());
    expect(await callCode(plain, HEALTH)).toBe(grpc.status.OK);
    expect(await callCode(plain, ACQUIRE)).toBe(grpc.status.UNIMPLEMENTED);
    // And the TLS port speaks no plaintext.
    const plainMain = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    closers.push(() => plainMain.close());
    expect(await callCode(plainMain, ACQUIRE, 1_500)).not.toBe(grpc.status.OK);
  });
});

describe.each(RPC_SERVER_TRANSPORTS)("certificate rotation on the %s server", (transport) => {
  it("takes up new files without a restart", async () => {
    const dir = join(pki().dir, `rotate-${transport}`);
    const next = join(pki().dir, `next-${transport}`);
    createDevPki(dir);
    createDevPki(next);
    const server = createRpcServer({
      ...tlsServerOptions(identityFiles(dir, "presence"), transport),
      tls: { ...identityFiles(dir, "presence"), reloadIntervalMs: 50 },
    });
    server.add(PresenceService, impl);
    const port = await server.start();
    // A gateway of the next CA: not trusted (nor trusting) before the rotation.
    const gw = identityFiles(next, "gateway");
    const call = async () => {
      const c = rawTlsClient(port, gw.caFile, "presence", gw);
      try {
        return await callCode(c.client, ACQUIRE, 1_000);
      } finally {
        c.close();
      }
    };
    try {
      expect(await call()).not.toBe(grpc.status.OK);
      for (const f of ["presence.key", "presence.crt", "ca.crt"]) copyFileSync(join(next, f), join(dir, f));
      await vi.waitFor(async () => expect(await call()).toBe(grpc.status.OK), { timeout: 10_000, interval: 100 });
    } finally {
      await server.stop(1_000);
    }
  });
});

describe("a client that presents no certificate (service tokens)", () => {
  it("trusts the CA file alone, and takes up a rotated CA without a restart", async () => {
    const old = join(pki().dir, "ca-only-old");
    const next = join(pki().dir, "ca-only-next");
    createDevPki(old);
    createDevPki(next);
    const key = randomBytes(32);
    // A token-mode server with a certificate of the next CA: a client trusting the old one refuses it.
    const server = createRpcServer({ ...tlsServerOptions(identityFiles(next, "presence")), serviceTokenKeys: new Map([["gateway", key]]) });
    server.add(PresenceService, impl);
    const port = await server.start();
    const caFile = join(old, "trusted-by-client.crt");
    copyFileSync(join(old, "ca.crt"), caFile);
    const c = createRpcClient(PresenceService, {
      address: `127.0.0.1:${port}`,
      defaultDeadlineMs: 1_000,
      tls: { caFile, server: "presence", reloadIntervalMs: 50 },
      serviceToken: createTokenSigner("gateway", key),
    });
    try {
      await expect(c.acquireLease({ gatewayId: "gw" })).rejects.toMatchObject({ code: "unavailable" });
      copyFileSync(join(next, "ca.crt"), caFile);
      await vi.waitFor(async () => expect(await c.acquireLease({ gatewayId: "gw" })).toMatchObject({ leaseId: "lease-1" }), { timeout: 15_000, interval: 200 });
    } finally {
      c.close();
      await server.stop(1_000);
    }
  });
});
