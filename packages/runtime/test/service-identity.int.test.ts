/**
 * Service identity as deployed: the services of a test stack (real processes, started as in
 * production) serve mTLS only, each with its component's certificate. A caller without a
 * certificate of the trusted CA is UNAUTHENTICATED; the internal methods refuse every
 * component but their one caller (posts' ListDirectPartners: presence; presence's leases:
 * the gateway); the plaintext health port answers grpc.health.v1 to anyone; a deployable
 * given another component's certificate does not start.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import { createCa, issueLeaf, type Component } from "@switchboard/pki";
import { AccountsService } from "@switchboard/proto/accounts";
import { HealthCheckRequestSchema, HealthCheckResponseSchema, HealthCheckResponse_ServingStatus as Serving } from "@switchboard/proto/health";
import { PostsService } from "@switchboard/proto/posts";
import { PresenceService } from "@switchboard/proto/presence";
import { createRpcClient, type ClientTlsOptions } from "@switchboard/rpc";
import { deployableEntry, deployableTestEnv, startStack, testClientTls, waitFor, type Stack } from "@switchboard/testkit";

let stack: Stack;
const foreignDir = mkdtempSync(join(tmpdir(), "sb-foreign-ca-"));
const clients: { close(): void }[] = [];

beforeAll(async () => {
  stack = await startStack({ gateways: 0 });
  createCa(foreignDir, "Someone else's CA");
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await stack?.stop();
  rmSync(foreignDir, { recursive: true, force: true });
});

/** The code of a failed call ("ok" when it succeeded). */
const outcome = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => "ok",
    (e: { code?: string }) => e.code ?? "?",
  );

function client<T extends GenServiceMethods>(service: GenService<T>, address: string, tls: ClientTlsOptions | undefined) {
  const c = createRpcClient(service, { address, defaultDeadlineMs: 3_000, tls });
  clients.push(c);
  return c;
}

/** A "gateway" certificate of another CA, trusting ours. */
function foreignGateway(server: Component): ClientTlsOptions {
  const f = issueLeaf(foreignDir, "gateway");
  return { ...f, caFile: testClientTls(server).caFile, server };
}

/** grpc.health.v1 Check over plaintext HTTP/2, as a Kubernetes probe asks it. */
async function healthCheck(port: number): Promise<Serving> {
  const session = connect(`http://127.0.0.1:${port}`);
  try {
    const body = toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema, { service: "" }));
    const frame = Buffer.alloc(5 + body.length);
    frame.writeUInt32BE(body.length, 1);
    frame.set(body, 5);
    const answer = await new Promise<Buffer>((resolve, reject) => {
      const s = session.request({ ":method": "POST", ":path": "/grpc.health.v1.Health/Check", "content-type": "application/grpc", te: "trailers" });
      const chunks: Buffer[] = [];
      s.on("data", (c: Buffer) => chunks.push(c));
      s.on("end", () => resolve(Buffer.concat(chunks)));
      s.on("error", reject);
      s.end(frame);
    });
    return fromBinary(HealthCheckResponseSchema, answer.subarray(5)).status;
  } finally {
    session.close();
  }
}

describe("the services of a stack", () => {
  it("answer UNAUTHENTICATED to a caller whose certificate is not from the trusted CA, and do not speak plaintext", async () => {
    const accounts = client(AccountsService, stack.addrs.accounts, foreignGateway("accounts"));
    expect(await outcome(accounts.login({ loginId: "someone", password: "password-1" }))).toBe("unauthenticated");
    const plain = client(AccountsService, stack.addrs.accounts, undefined);
    expect(await outcome(plain.login({ loginId: "someone", password: "password-1" }))).not.toBe("ok");
  });

  it("keep posts' ListDirectPartners to presence, and presence's leases to the gateway", async () => {
    const userId = "u".repeat(26);
    const postsAsGateway = client(PostsService, stack.addrs.posts, testClientTls("posts", "gateway"));
    expect(await outcome(postsAsGateway.listDirectPartners({ userId }))).toBe("permission_denied");
    const postsAsPresence = client(PostsService, stack.addrs.posts, testClientTls("posts", "presence"));
    expect(await outcome(postsAsPresence.listDirectPartners({ userId }))).toBe("ok");

    const presenceAsPosts = client(PresenceService, stack.addrs.presence, testClientTls("presence", "posts"));
    for (const call of [presenceAsPosts.acquireLease({ gatewayId: "gw" }), presenceAsPosts.report({}), presenceAsPosts.releaseLease({})]) {
      expect(await outcome(call)).toBe("permission_denied");
    }
    const presenceAsGateway = client(PresenceService, stack.addrs.presence, testClientTls("presence", "gateway"));
    expect(await outcome(presenceAsGateway.acquireLease({ gatewayId: "gw" }))).toBe("ok");
  });

  it("answer grpc.health.v1 on their plaintext health port without credentials", async () => {
    for (const proc of [stack.accounts, stack.posts, stack.presence]) {
      const port = Number(proc.ready.grpc_health_port);
      expect(port).toBeGreaterThan(0);
      await waitFor(async () => (await healthCheck(port)) === Serving.SERVING, { what: "SERVING on the health port" });
    }
  });

  it("a service given another component's certificate does not start, and says why", async () => {
    const gw = testClientTls("posts", "gateway");
    const env = {
      PATH: process.env.PATH ?? "",
      ...deployableTestEnv("presence"),
      ...stack.nats.env("presence"),
      SB_POD_NAME: "wrong-identity",
      SB_PRESENCE_GRPC_PORT: "0",
      SB_PRESENCE_OPS_PORT: "0",
      SB_RPC_TLS_CERT_FILE: gw.certFile,
      SB_RPC_TLS_KEY_FILE: gw.keyFile,
    };
    const run = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = execFile(process.execPath, [deployableEntry("presence")], { env, timeout: 30_000 }, (_e, stdout, stderr) =>
        resolve({ code: child.exitCode, out: stdout + stderr }),
      );
    });
    expect(run.code).not.toBe(0);
    expect(run.out).toMatch(/names gateway, not presence/);
  });
});
