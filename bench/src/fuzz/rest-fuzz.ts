/**
 * REST bodies against the gateway's routes (gateway/src/rest/*-routes.ts): each route with a
 * valid request, mutated at the JSON level (types, missing and extra keys), the byte level
 * (broken JSON, deep nesting), the path (ids that are not ids), the headers (content type,
 * token). The rule under test: 4xx with a Mattermost-shaped body, never a 5xx or a hang.
 * Signup and login are left out: each costs a scrypt by design, and their rate is the edge's
 * login limit (its own test), not a parser's.
 */
import { Agent, request } from "node:http";
import { mutateBytes, mutateJson, randomJson, type Rng } from "./mutator.js";
import type { Surface, Targets, Tally } from "./surface.js";

interface Route {
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  readonly path: string;
  readonly body?: (t: Targets) => unknown;
}

const ROUTES: readonly Route[] = [
  { method: "GET", path: "/api/v4/system/ping" },
  { method: "GET", path: "/api/v4/config/client?format=old" },
  { method: "GET", path: "/api/v4/users/me" },
  { method: "GET", path: "/api/v4/users/:user_id" },
  { method: "POST", path: "/api/v4/users/ids", body: (t) => [t.userId] },
  { method: "POST", path: "/api/v4/users/status/ids", body: (t) => [t.userId] },
  { method: "GET", path: "/api/v4/users/:user_id/status" },
  { method: "PUT", path: "/api/v4/users/:user_id/status", body: (t) => ({ user_id: t.userId, status: "online" }) },
  { method: "GET", path: "/api/v4/users/:user_id/teams" },
  { method: "GET", path: "/api/v4/teams/:team_id" },
  { method: "GET", path: "/api/v4/users/:user_id/teams/:team_id/channels" },
  { method: "GET", path: "/api/v4/channels/:channel_id" },
  { method: "GET", path: "/api/v4/channels/:channel_id/members" },
  { method: "GET", path: "/api/v4/channels/:channel_id/posts?page=0&per_page=30" },
  { method: "POST", path: "/api/v4/channels/members/:user_id/view", body: (t) => ({ channel_id: t.channelId, prev_channel_id: "" }) },
  { method: "POST", path: "/api/v4/posts", body: (t) => ({ channel_id: t.channelId, message: "fuzz control", root_id: "" }) },
  { method: "GET", path: "/api/v4/posts/:post_id" },
  { method: "GET", path: "/api/v4/posts/:post_id/thread" },
  { method: "PUT", path: "/api/v4/posts/:post_id/patch", body: () => ({ message: "patched" }) },
  { method: "POST", path: "/api/v4/reactions", body: (t) => ({ user_id: t.userId, post_id: t.postId, emoji_name: "smile" }) },
  { method: "GET", path: "/api/v4/posts/:post_id/reactions" },
  { method: "POST", path: "/api/v4/channels", body: (t) => ({ team_id: t.teamId, name: "fuzz-ctl", display_name: "Fuzz", type: "O" }) },
  { method: "POST", path: "/api/v4/channels/direct", body: (t) => [t.userId, t.userId] },
  { method: "POST", path: "/api/v4/teams/:team_id/members", body: (t) => ({ team_id: t.teamId, user_id: t.userId }) },
];

const BAD_IDS = ["", "x", "a".repeat(26).toUpperCase(), "%2e%2e", "..", "a".repeat(4000), "0".repeat(26) + "0", "me", "%00", "%ZZ"];
const MAX_IN_FLIGHT = 32;

export function restSurface(t: Targets, tally: Tally): Surface {
  const url = new URL(t.gatewayUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  let inFlight = 0;

  // A hostile DELETE gets bad ids only: deleting its own channel or post is the fuzzer's right,
  // and would leave the next control phase's valid requests failing.
  const fill = (path: string, r: Rng | undefined, badIds = false) =>
    path.replace(/:([a-z_]+)/g, (_, name: string) => {
      if (r && (badIds || r.chance(0.3))) return r.pick(BAD_IDS);
      return { user_id: t.userId, team_id: t.teamId, channel_id: t.channelId, post_id: t.postId }[name] ?? "x";
    });

  function send(method: string, path: string, body: Buffer | undefined, headers: Record<string, string>, label: string): void {
    inFlight++;
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        agent,
        headers: { ...headers, ...(body ? { "content-length": String(body.length) } : {}) },
        timeout: 10_000,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        res.on("data", (d: Buffer) => chunks.length < 4 && chunks.push(d));
        res.on("end", () => {
          inFlight--;
          tally.count(`rest.${Math.floor(status / 100)}xx`);
          // Valid requests that fail say which route and status (a duplicate name, say), in the report's JSON.
          if (label === "valid" && status >= 400) tally.count(`rest.valid_failed ${method} ${path.replace(/[a-z0-9]{26}/g, ":id")} ${String(status)}`);
          if (status >= 500) {
            tally.count("rest.5xx_found");
            tally.sample(
              `REST ${status} ${method} ${path.slice(0, 200)} body=${body?.subarray(0, 200).toString("latin1") ?? ""} -> ${Buffer.concat(chunks).subarray(0, 200).toString()}`,
            );
          }
        });
      },
    );
    req.on("timeout", () => {
      tally.count("rest.timeout");
      tally.sample(`REST timeout ${method} ${path.slice(0, 200)} (${label})`);
      req.destroy();
    });
    req.on("error", () => {
      inFlight--;
      tally.count("rest.error");
    });
    req.end(body);
  }

  return {
    name: "rest",
    send(r, attack) {
      if (inFlight >= MAX_IN_FLIGHT) {
        tally.count("rest.skipped_in_flight");
        return;
      }
      const route = r.pick(ROUTES);
      const headers: Record<string, string> = { authorization: `Bearer ${t.token}`, "content-type": "application/json", "x-requested-with": "XMLHttpRequest" };
      const valid = route.body ? Buffer.from(JSON.stringify(route.body(t))) : undefined;
      if (!attack) {
        send(route.method, fill(route.path, undefined), valid, headers, "valid");
        tally.count("rest.valid_requests");
        return;
      }
      let body: Buffer = valid ?? Buffer.from(JSON.stringify(randomJson(r)));
      switch (r.int(5)) {
        case 0:
          body = mutateBytes(r, body);
          break;
        case 1: {
          const v: unknown = route.body?.(t);
          body = Buffer.from(JSON.stringify(v && typeof v === "object" && !Array.isArray(v) ? mutateJson(r, v as Record<string, unknown>) : randomJson(r)));
          break;
        }
        case 2:
          body = Buffer.from(JSON.stringify(randomJson(r)));
          break;
        case 3:
          headers["content-type"] = r.pick([
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/json; charset=utf-16",
          ]);
          break;
        default:
          headers.authorization = r.pick([
            "",
            "Bearer ",
            `Bearer ${t.token.slice(0, -3)}abc`,
            "Basic Zm9vOmJhcg==",
            `Bearer ${"a".repeat(3000)}`,
            `Bearer ${t.token}.x`,
          ]);
      }
      const method = r.chance(0.1) ? r.pick(["GET", "POST", "PUT", "DELETE", "PATCH"]) : route.method;
      const path =
        fill(route.path, r) +
        (r.chance(0.1) ? `${route.path.includes("?") ? "&" : "?"}page=${r.pick(["-1", "1e9", "x", ""])}&per_page=${r.pick(["-5", "100000", "NaN"])}` : "");
      send(method, path, body, headers, "hostile");
      tally.count("rest.hostile_requests");
    },
    close() {
      agent.destroy();
    },
  };
}
