/**
 * Service tokens as deployed (SB_RPC_AUTH=token): a stack whose deployables (real processes,
 * services on each gRPC server implementation) call each other with signed service tokens over TLS that authenticates the server alone.
 * Each one holds its own key and the keys of its callers only, and the gateway has no
 * certificate at all. The stock Mattermost client signs up, logs in, posts and gets `posted`
 * over the WebSocket. The running services refuse a call without a token, with a token of
 * a key they do not hold, or with a certificate instead of a token, and name what is missing;
 * the allowlists apply as with mTLS; a service without its key does not start.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import type { Component } from "@switchboard/pki";
import { AccountsService } from "@switchboard/proto/accounts";
import { PostsService } from "@switchboard/proto/posts";
import { PresenceService } from "@switchboard/proto/presence";
import { createRpcClient, createTokenSigner, RPC_SERVER_TRANSPORTS, type RpcClientOptions } from "@switchboard/rpc";
import {
  asksForClientCertificate,
  deployableEntry,
  deployableTestEnv,
  newClient4,
  newWebSocketClient,
  startStack,
  testClientTls,
  testTokenKey,
  waitFor,
  type Stack,
  type WebSocketClient,
} from "@switchboard/testkit";

const closers: (() => void)[] = [];
const emptyDir = mkdtempSync(join(tmpdir(), "sb-no-token-keys-"));

afterAll(() => rmSync(emptyDir, { recursive: true, force: true }));

/** How a call failed: its code and the server's message ("ok" when it succeeded). */
const outcome = (p: Promise<unknown>): Promise<{ code: string; details: string }> =>
  p.then(
    () => ({ code: "ok", details: "" }),
    (e: { code?: string; cause?: { details?: string } }) => ({ code: e.code ?? "?", details: e.cause?.details ?? "" }),
  );

function client<T extends GenServiceMethods>(service: GenService<T>, address: string, auth: Pick<RpcClientOptions, "tls" | "serviceToken">) {
  const c = createRpcClient(service, { address, defaultDeadlineMs: 5_000, ...auth });
  closers.push(() => c.close());
  return c;
}

/** Server-only TLS to `server` (the run's CA, no certificate), with a token signed as `as` with `key` when given. */
function tokenAuth(server: Component, as?: { who: string; key: Uint8Array }): Pick<RpcClientOptions, "tls" | "serviceToken"> {
  const tls = { caFile: testClientTls(server).caFile, server };
  return as === undefined ? { tls } : { tls, serviceToken: createTokenSigner(as.who, as.key) };
}

const wsUrl = (http: string) => `${http.replace(/^http/, "ws")}/api/v4/websocket`;

describe.each(RPC_SERVER_TRANSPORTS)("a stack in token mode, services on the %s server", (transport) => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ rpcAuth: "token", env: { SB_RPC_SERVER: transport } });
  }, 120_000);

  afterAll(async () => {
    // Clients first: a service's stop waits for open connections (up to its grace).
    for (const c of closers.splice(0)) c();
    await stack?.stop();
  });

  it("serves the stock client: sign-up, login, a post, and posted over the WebSocket", async () => {
    const url = stack.gatewayUrls[0]!;
    const username = `tok${randomBytes(4).toString("hex")}`;
    await newClient4(url).createUser({ username, email: `${username}@example.com`, password: "password-1" } as never, "", "");
    const alice = newClient4(url);
    const me = await alice.login(username, "password-1");
    const team = await alice.createTeam({ name: `team${Date.now()}`, display_name: "Team", type: "O" } as never);
    const channel = await alice.createChannel({ team_id: team.id, name: `c${Date.now()}`, display_name: "C", type: "O" } as never);

    const ws: WebSocketClient = newWebSocketClient({ headers: { Authorization: `Bearer ${alice.getToken()}` } });
    closers.push(() => ws.close());
    const events: { event?: string; data?: Record<string, unknown> }[] = [];
    ws.addMessageListener((m) => events.push(m as (typeof events)[number]));
    ws.initialize(wsUrl(url), undefined, true);
    await waitFor(() => events.some((e) => e.event === "hello"), { what: "hello" });

    const post = await alice.createPost({ channel_id: channel.id, message: "signed by tokens" });
    const posted = await waitFor(() => events.find((e) => e.event === "posted" && (JSON.parse(String(e.data?.post)) as { id: string }).id === post.id), {
      what: "posted over the WebSocket",
    });
    expect(JSON.parse(String(posted.data?.post))).toMatchObject({ message: "signed by tokens", user_id: me.id, channel_id: channel.id });
  });

  /** A call of each service the gateway may make, on a client with the given credentials. */
  type Auth = Pick<RpcClientOptions, "tls" | "serviceToken">;
  const calls: Record<"accounts" | "posts" | "presence", (auth: Auth) => Promise<unknown>> = {
    accounts: (auth) => client(AccountsService, stack.addrs.accounts, auth).login({ loginId: "someone", password: "password-1" }),
    posts: (auth) => client(PostsService, stack.addrs.posts, auth).getChannelHeads({ channelIds: [] }),
    presence: (auth) => client(PresenceService, stack.addrs.presence, auth).acquireLease({ gatewayId: "gw" }),
  };

  it.each(["accounts", "posts", "presence"] as const)(
    "%s asks for no client certificate, refuses a call without a token, with a key it does not hold, or with a certificate instead, and serves the gateway's token",
    async (name) => {
      const run = (auth: Auth) => outcome(calls[name](auth));
      expect(await asksForClientCertificate(Number(stack.addrs[name].split(":")[1]), name)).toBe(false);
      const none = await run(tokenAuth(name));
      expect(none.code).toBe("unauthenticated");
      // The message names what this mode wants: the token, not a certificate.
      expect(none.details).toMatch(/service token .*sb-service-token/);
      expect(none.details).toMatch(/client certificates are not used/);
      expect((await run(tokenAuth(name, { who: "gateway", key: randomBytes(32) }))).code).toBe("unauthenticated");
      // The gateway's certificate, valid for mTLS, names nobody here.
      expect((await run({ tls: testClientTls(name, "gateway") })).code).toBe("unauthenticated");
      // Served: the method's own answer (accounts: a wrong password, UNAUTHENTICATED with its own message).
      const served = await run(tokenAuth(name, { who: "gateway", key: testTokenKey("gateway") }));
      expect(served.code, served.details).not.toMatch(/permission_denied|unavailable|deadline/);
      expect(served.details).not.toMatch(/service token|certificate/);
      if (name === "accounts") expect(served).toMatchObject({ code: "unauthenticated", details: "Enter a valid email or username and/or password." });
      else expect(served.code).toBe("ok");
    },
  );

  it("keeps the allowlists: posts' ListDirectPartners serves presence's token and denies the gateway's", async () => {
    const userId = "u".repeat(26);
    const asGateway = client(PostsService, stack.addrs.posts, tokenAuth("posts", { who: "gateway", key: testTokenKey("gateway") }));
    expect((await outcome(asGateway.listDirectPartners({ userId }))).code).toBe("permission_denied");
    const asPresence = client(PostsService, stack.addrs.posts, tokenAuth("posts", { who: "presence", key: testTokenKey("presence") }));
    expect((await outcome(asPresence.listDirectPartners({ userId }))).code).toBe("ok");
  });

  it("a service without its key does not start, and says which file is missing", async () => {
    const env = {
      PATH: process.env.PATH ?? "",
      ...deployableTestEnv("presence", "token"),
      ...stack.nats.env("presence"),
      SB_POD_NAME: "no-keys",
      SB_PRESENCE_GRPC_PORT: "0",
      SB_PRESENCE_OPS_PORT: "0",
      SB_RPC_TOKEN_KEYS_DIR: emptyDir,
    };
    const run = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = execFile(process.execPath, [deployableEntry("presence")], { env, timeout: 30_000 }, (_e, stdout, stderr) =>
        resolve({ code: child.exitCode, out: stdout + stderr }),
      );
    });
    expect(run.code).not.toBe(0);
    expect(run.out).toContain(`the service-token key ${join(emptyDir, "presence.key")} (SB_RPC_TOKEN_KEYS_DIR) is unreadable: ENOENT`);
  });
});
