/**
 * Every method of every Switchboard service, found in the generated descriptors
 * (proto/src/gen), against the caller allowlists, on both gRPC servers, over mTLS and with
 * signed service tokens over server-only TLS (no client certificate asked for): without
 * credentials (or with a forged or expired token) UNAUTHENTICATED, with a message naming what
 * the mode wants; as any component outside the method's allowlist (or a workload
 * no allowlist names) PERMISSION_DENIED; as each allowed component, served. A method without
 * an allowlist entry fails here (and the server refuses to start with it).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as grpc from "@grpc/grpc-js";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import { COMPONENTS } from "@switchboard/pki";
import { createRpcServer, createTokenSigner, RPC_SERVER_TRANSPORTS, SERVICE_TOKEN_HEADER, type RpcServer } from "../src/index.js";
import { signServiceToken } from "../src/service-token.js";
import { CALLERS_BY_PATH } from "../src/allowlists/index.js";
import { asksForClientCertificate } from "@switchboard/testkit";
import { callCode, callStatus, rawTlsClient, tlsServerOptions, useTestPki } from "./pki-fixture.js";

type AnyService = GenService<GenServiceMethods>;

/** Every service of every generated file under proto/src/gen/sb. */
async function generatedServices(): Promise<AnyService[]> {
  const root = fileURLToPath(new URL("../../../proto/src/gen/sb", import.meta.url));
  const files = readdirSync(root, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith("_pb.ts"));
  const out = new Map<string, AnyService>();
  for (const f of files) {
    const mod = (await import(pathToFileURL(join(root, f)).href)) as Record<string, unknown>;
    for (const v of Object.values(mod)) {
      const file = v as { kind?: string; services?: AnyService[] };
      if (file.kind === "file") for (const s of file.services ?? []) out.set(s.typeName, s);
    }
  }
  return [...out.values()];
}

const services = await generatedServices();
const methods = services.flatMap((s) => s.methods.map((m) => ({ path: `/${s.typeName}/${m.name}`, service: s })));

/** Answers every method of a service with an empty message. */
function anyImpl(): never {
  return new Proxy({}, { get: () => async () => ({}) }) as never;
}

describe("the caller allowlists", () => {
  it("cover the services of every generated descriptor", () => {
    expect(services.map((s) => s.typeName).sort()).toEqual(["sb.accounts.v1.AccountsService", "sb.posts.v1.PostsService", "sb.presence.v1.PresenceService"]);
  });

  it.each(methods.map((m) => m.path))("%s has an allowlist entry naming only components", (path) => {
    const allowed = CALLERS_BY_PATH.get(path);
    expect(allowed, `${path} lacks an allowlist entry (packages/rpc/src/allowlists/)`).toBeDefined();
    expect(allowed!.size).toBeGreaterThan(0);
    for (const c of allowed!) expect(COMPONENTS).toContain(c);
  });

  it("keep the internal methods to their one caller", () => {
    const callers = (path: string) => [...(CALLERS_BY_PATH.get(path) ?? [])].sort();
    expect(callers("/sb.posts.v1.PostsService/ListDirectPartners")).toEqual(["presence"]);
    for (const m of ["AcquireLease", "Report", "ReleaseLease"]) expect(callers(`/sb.presence.v1.PresenceService/${m}`)).toEqual(["gateway"]);
    expect(callers("/sb.accounts.v1.AccountsService/Login")).toEqual(["gateway"]);
  });

  it("name no method the descriptors do not have", () => {
    expect([...CALLERS_BY_PATH.keys()].filter((p) => !methods.some((m) => m.path === p))).toEqual([]);
  });
});

const testPki = useTestPki();
const WORKLOADS = [...COMPONENTS, "intruder"];
/** Token mode: a key per workload the server knows (the intruder's too: known, in no allowlist). */
const keys = new Map(WORKLOADS.map((w) => [w, randomBytes(32)] as const));

const MODES = RPC_SERVER_TRANSPORTS.flatMap((transport) => (["mtls", "token"] as const).map((auth) => ({ transport, auth })));

describe.each(MODES)("every method on the $transport server ($auth)", ({ transport, auth }) => {
  let server: RpcServer;
  let port: number;
  /** Who calls, with the client and metadata it calls with; "nobody", "forged" and "expired" must be UNAUTHENTICATED. */
  const callers = new Map<string, { client: grpc.Client; md?: grpc.Metadata }>();
  const closers: (() => void)[] = [];
  const withToken = (token: string): grpc.Metadata => {
    const md = new grpc.Metadata();
    md.set(SERVICE_TOKEN_HEADER, token);
    return md;
  };

  beforeAll(async () => {
    const pki = testPki();
    server = createRpcServer({ ...tlsServerOptions(pki.files("posts"), transport), ...(auth === "token" ? { serviceTokenKeys: keys } : {}) });
    for (const s of services) server.add(s, anyImpl());
    port = await server.start();
    const client = (who: string | undefined) => {
      const c = rawTlsClient(port, pki.files("posts").caFile, "posts", who === undefined ? undefined : pki.files(who));
      closers.push(() => c.close());
      return c.client;
    };
    callers.set("nobody", { client: client(undefined) });
    if (auth === "mtls") {
      for (const who of WORKLOADS) callers.set(who, { client: client(who) });
    } else {
      // Server-only TLS: no client certificate, the token alone names the caller.
      const anonymous = client(undefined);
      for (const who of WORKLOADS) callers.set(who, { client: anonymous, md: withToken(createTokenSigner(who, keys.get(who)!)()) });
      callers.set("forged", { client: anonymous, md: withToken(createTokenSigner("gateway", randomBytes(32))()) });
      callers.set("expired", { client: anonymous, md: withToken(signServiceToken("gateway", keys.get("gateway")!, -1_000)) });
    }
  });
  afterAll(async () => {
    for (const c of closers) c();
    await server.stop(1_000);
  });

  it(`asks for a client certificate ${auth === "mtls" ? "in the handshake" : "never: the token names the caller"}`, async () => {
    expect(await asksForClientCertificate(port, "posts")).toBe(auth === "mtls");
  });

  it("names what is missing in its mode when a call has no credentials", async () => {
    const { code, details } = await callStatus(callers.get("nobody")!.client, "/sb.posts.v1.PostsService/GetChannelHeads");
    expect(code).toBe(grpc.status.UNAUTHENTICATED);
    expect(details).toMatch(auth === "mtls" ? /client certificate .* is required/ : /service token .* is required .*sb-service-token/);
  });

  it.each(methods.map((m) => m.path))(
    "%s: UNAUTHENTICATED without credentials, PERMISSION_DENIED outside its allowlist, served to its callers",
    async (path) => {
      const allowed = CALLERS_BY_PATH.get(path) ?? new Set<string>();
      const codes = Object.fromEntries(
        await Promise.all([...callers].map(async ([who, c]) => [who, grpc.status[await callCode(c.client, path, 5_000, c.md)]] as const)),
      );
      const expected: Record<string, string> = { nobody: "UNAUTHENTICATED" };
      if (auth === "token") expected.forged = expected.expired = "UNAUTHENTICATED";
      for (const w of WORKLOADS) expected[w] = allowed.has(w) ? "OK" : "PERMISSION_DENIED";
      expect(codes).toEqual(expected);
    },
  );
});

describe("a server with a method no allowlist names", () => {
  it("refuses to start", async () => {
    // A service of ours under another name: none of its paths has an entry.
    const stranger = { ...services[0]!, typeName: "sb.stranger.v1.StrangerService" } as AnyService;
    const server = createRpcServer(tlsServerOptions(testPki().files("posts")));
    server.add(stranger, anyImpl());
    await expect(server.start()).rejects.toThrow(/no caller allowlist entry for \/sb\.stranger\.v1\.StrangerService\//);
    await server.stop(100);
  });
});
