/**
 * Hostile ids at every edge get a clean refusal and never reach NATS: REST path parameters of
 * every route the gateway serves and the ids in REST bodies (400 or 404, Mattermost's error
 * body, never a 5xx), WebSocket action data (a FAIL reply), and every id field of every gRPC
 * method of posts, accounts and presence (INVALID_ARGUMENT). Meanwhile a subscriber to every
 * subject, and the server's own list of subscriptions (its monitoring port), show that no
 * message was published, and no subscription made, on a subject built from one of them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { create, ScalarType, type DescMessage } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import { connectBus, subjectRoots, subjects, type Bus } from "@switchboard/bus";
import { AccountsService } from "@switchboard/proto/accounts";
import { PostsService } from "@switchboard/proto/posts";
import { PresenceService } from "@switchboard/proto/presence";
import { CALLERS_BY_PATH, createRpcClient } from "@switchboard/rpc";
import { freePort, startStack, testClientTls, waitFor, type Stack } from "@switchboard/testkit";
type Component = Parameters<typeof testClientTls>[0];
import { restRoutes } from "../src/rest/rest-routes.js";
import type { RestDeps } from "../src/rest/rest-deps.js";
import { newUser, wsUrl, type TestUser } from "./support.js";

/** Every hostile value carries this run of z's (or is one of the bare wildcards), so it shows on any subject it reached. */
const Z = "z".repeat(20);
const HOSTILE: readonly string[] = [
  "",
  "*",
  ">",
  " ",
  `${Z}zzzzz.`,
  `${Z}zzzzz*`,
  `${Z}zzzzz>`,
  `${Z}zzzzz `,
  `${Z}zzzz\t\n`,
  `${Z}.${Z}`,
  `${subjectRoots.events}.${Z}.>`,
  subjects.allEvents,
  `${Z}ZZZZZZ`,
  `${Z}zzzzz\u00a0`,
  `${Z}${"z".repeat(7)}`,
];

let stack: Stack;
let url: string;
let monitorPort: number;
let alice: TestUser;
let channelId: string;
let postId: string;
let teamId: string;
let bus: Bus;
const published: string[] = [];

/**
 * A subject with a hostile id in it: the marker, an empty or blank token, a subject root where
 * an id belongs, or (published: never legitimately) a wildcard.
 */
function leakedSubject(s: string, published: boolean): boolean {
  return (
    s.includes("zzzz") ||
    s.split(".").some((t) => t === "" || /\s/.test(t)) ||
    s.includes(`.${subjectRoots.events}.`) ||
    s.includes(`.${subjectRoots.control}.`) ||
    (published && /[*>]/.test(s))
  );
}

beforeAll(async () => {
  monitorPort = await freePort();
  stack = await startStack({ natsArgs: ["-m", String(monitorPort)] });
  url = stack.gatewayUrls[0]!;
  bus = await connectBus({ ...stack.nats.as("test"), name: "hostile-ids-watch" });
  bus.subscribe(">", (m) => published.push(m.subject));
  alice = await newUser(url, "alice");
  const team = await alice.client.createTeam({ name: `team${Date.now()}`, display_name: "Team", type: "O" } as never);
  teamId = team.id;
  channelId = (await alice.client.createChannel({ team_id: team.id, name: `c${Date.now()}`, display_name: "C", type: "O" } as never)).id;
  postId = (await alice.client.createPost({ channel_id: channelId, message: "hello" })).id;
}, 60_000);

afterAll(async () => {
  await bus?.close();
  await stack?.stop();
});

async function rest(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${url}${path}`, {
    method: method.toUpperCase(),
    headers: { Authorization: `Bearer ${alice.token}`, "Content-Type": "application/json", "X-Requested-With": "XMLHttpRequest" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as Record<string, unknown> };
  } catch {
    return { status: res.status, body: { raw: text } };
  }
}

function expectRefused(where: string, r: { status: number; body: Record<string, unknown> }): void {
  expect([400, 404], `${where}: ${String(r.status)} ${JSON.stringify(r.body)}`).toContain(r.status);
  expect(r.body.status_code ?? r.status, where).toBe(r.status);
  expect(typeof r.body.id, `${where}: ${JSON.stringify(r.body)}`).toBe("string");
}

describe("REST", () => {
  // The routes as the gateway registers them; their handlers are not run here.
  const routes = restRoutes({} as RestDeps).filter((r) => /:\w+_id\b/.test(r.pattern));

  it("refuses a hostile id in any path parameter of any route", async () => {
    expect(routes.length).toBeGreaterThan(10);
    for (const r of routes) {
      const params = r.pattern.match(/:\w+_id\b/g)!;
      for (const bad of HOSTILE) {
        for (const p of params) {
          const path = params.reduce(
            (acc, q) =>
              acc.replace(
                q,
                q === p ? encodeURIComponent(bad) : q === ":user_id" ? alice.id : q === ":team_id" ? teamId : q === ":post_id" ? postId : channelId,
              ),
            r.pattern.replace(":emoji_name", "smile"),
          );
          const body = r.method === "get" || r.method === "del" ? undefined : { channel_id: channelId, user_id: alice.id, message: "m", status: "online" };
          expectRefused(`${r.method} ${r.pattern} with ${p}=${JSON.stringify(bad)}`, await rest(r.method === "del" ? "delete" : r.method, path, body));
        }
      }
    }
  });

  it("refuses a hostile id in a request body", async () => {
    for (const bad of HOSTILE) {
      const cases: [string, string, unknown][] = [
        ["post", "/api/v4/posts", { channel_id: bad, message: "m" }],
        // Optional ids, where "" means none.
        ...(bad === ""
          ? []
          : ([
              ["post", "/api/v4/posts", { channel_id: channelId, root_id: bad, message: "m" }],
              ["post", "/api/v4/channels/members/me/view", { channel_id: bad }],
            ] as [string, string, unknown][])),
        ["post", `/api/v4/channels/${channelId}/members`, { user_id: bad }],
        ["post", "/api/v4/reactions", { user_id: alice.id, post_id: bad, emoji_name: "smile" }],
        ["post", "/api/v4/reactions", { user_id: bad, post_id: postId, emoji_name: "smile" }],
        ["post", "/api/v4/channels", { team_id: bad, name: "x", display_name: "x", type: "O" }],
        ["post", `/api/v4/teams/${teamId}/members`, { team_id: teamId, user_id: bad }],
        ["post", "/api/v4/channels/direct", [alice.id, bad]],
        ["post", "/api/v4/channels/group", [alice.id, bad, "a".repeat(26)]],
        ["post", "/api/v4/users/ids", [bad]],
        ["post", "/api/v4/users/status/ids", [bad]],
      ];
      for (const [method, path, body] of cases) expectRefused(`${method} ${path} ${JSON.stringify(body)}`, await rest(method, path, body));
    }
  });
});

describe("WebSocket", () => {
  it("answers a hostile id in action data with FAIL", async () => {
    const ws = new WebSocket(wsUrl(url), { headers: { Authorization: `Bearer ${alice.token}` } });
    const got: Record<string, unknown>[] = [];
    ws.on("message", (d) => got.push(JSON.parse((d as Buffer).toString()) as Record<string, unknown>));
    await waitFor(() => got.some((m) => m.event === "hello"), { what: "hello" });
    let seq = 0;
    const request = async (action: string, data: unknown): Promise<Record<string, unknown>> => {
      const s = ++seq;
      ws.send(JSON.stringify({ seq: s, action, data }));
      return waitFor(() => got.find((m) => m.seq_reply === s), { what: `reply to ${action}` });
    };
    const wrong: string[] = [];
    try {
      // Every request is made, then the wrong answers are listed (a wrong one must not stop the rest reaching the watch).
      for (const bad of HOSTILE) {
        for (const [action, data] of [
          ["user_typing", { channel_id: bad }],
          ["user_typing", { channel_id: bad, parent_id: bad }],
          ["get_statuses_by_ids", { user_ids: [bad] }],
          ["get_statuses_by_ids", { user_ids: [alice.id, bad] }],
        ] as const) {
          const reply = await request(action, data);
          const error = reply.error as Record<string, unknown> | undefined;
          if (reply.status !== "FAIL" || error?.status_code !== 400) wrong.push(`${action} ${JSON.stringify(data)}: ${JSON.stringify(reply)}`);
        }
      }
      // A hostile parent id in a good channel is dropped, not published.
      expect(await request("user_typing", { channel_id: channelId, parent_id: `${Z}zzzzz.` })).toMatchObject({ status: "OK" });
    } finally {
      ws.close();
    }
    expect(wrong).toEqual([]);
  });
});

type AnyService = GenService<GenServiceMethods>;

/** Fields named like ids that are not Mattermost ids: a username or email, a device, a client's own key, a pod name, an invite token. */
const NOT_IDS = new Set(["login_id", "device_id", "pending_post_id", "gateway_id", "invite_id"]);

/** A request with every id field (a string named *_id, strings named *_ids, in nested messages too) set to `bad`. */
function hostileRequest(desc: DescMessage, bad: string, depth = 0): { value: Record<string, unknown>; ids: number } {
  const value: Record<string, unknown> = {};
  let ids = 0;
  for (const f of desc.fields) {
    if (f.fieldKind === "scalar" && f.scalar === ScalarType.STRING && f.name.endsWith("_id") && !NOT_IDS.has(f.name)) {
      value[f.localName] = bad;
      ids++;
    } else if (f.fieldKind === "list" && f.listKind === "scalar" && f.scalar === ScalarType.STRING && f.name.endsWith("_ids")) {
      value[f.localName] = [bad];
      ids++;
    } else if (f.fieldKind === "message" && depth < 2) {
      const inner = hostileRequest(f.message, bad, depth + 1);
      if (inner.ids > 0) {
        value[f.localName] = create(f.message, inner.value as never);
        ids += inner.ids;
      }
    }
  }
  return { value, ids };
}

describe("gRPC", () => {
  const services: [string, AnyService, () => string][] = [
    ["posts", PostsService, () => stack.addrs.posts],
    ["accounts", AccountsService, () => stack.addrs.accounts],
    ["presence", PresenceService, () => stack.addrs.presence],
  ];
  for (const [name, service, addr] of services) {
    it(`${name}: every id field of every method refuses a hostile id with INVALID_ARGUMENT`, async () => {
      // Each method is called as a component its allowlist admits, so the id check is what answers.
      type Caller = Record<string, (req: unknown, o: { token: string }) => Promise<unknown>>;
      const clients = new Map<string, Caller>();
      const clientFor = (path: string): Caller => {
        const as = ([...(CALLERS_BY_PATH.get(path) ?? [])][0] ?? "gateway") as Component;
        let c = clients.get(as);
        if (c === undefined) {
          c = createRpcClient(service, { address: addr(), defaultDeadlineMs: 5_000, tls: testClientTls(name as Component, as) }) as unknown as Caller;
          clients.set(as, c);
        }
        return c;
      };
      let checked = 0;
      try {
        for (const m of service.methods) {
          // Not "": proto3 cannot tell an empty string from an unset optional field.
          for (const bad of HOSTILE.filter((h) => h !== "")) {
            const { value, ids } = hostileRequest(m.input, bad);
            if (ids === 0) continue;
            const e = (await clientFor(`/${service.typeName}/${m.name}`)[m.localName]!(value, { token: alice.token }).then(
              () => ({ code: "ok" }),
              (x: unknown) => x,
            )) as { code: string; message: string };
            expect(e.code, `${m.name} with ${JSON.stringify(bad)}: ${e.message}`).toBe("invalid_argument");
            checked++;
          }
        }
      } finally {
        for (const c of clients.values()) (c as unknown as { close(): void }).close();
      }
      expect(checked).toBeGreaterThan(0);
    });
  }
});

it("no subject built from a hostile id was published or subscribed", async () => {
  await bus.flush();
  expect(published.length).toBeGreaterThan(0);
  expect(published.filter((p) => leakedSubject(p, true))).toEqual([]);
  const subsz = (await (await fetch(`http://127.0.0.1:${String(monitorPort)}/subsz?subs=1&limit=100000`)).json()) as {
    subscriptions_list?: { subject: string }[];
  };
  const subs = (subsz.subscriptions_list ?? []).map((s) => s.subject);
  expect(subs.length).toBeGreaterThan(0);
  expect(subs.filter((p) => leakedSubject(p, false))).toEqual([]);
});
