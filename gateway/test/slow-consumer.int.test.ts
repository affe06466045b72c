/**
 * Flow control: a socket that stops reading is closed with the documented "slow" code once it
 * stays at its byte budget, never left open while events are dropped; it resumes without
 * loss; a healthy client on the same channel gets everything meanwhile.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { connectBus, encodeEvent, subjects, type Bus } from "@switchboard/bus";
import { newEvent } from "@switchboard/model";
import { startStack, waitFor, type Stack } from "@switchboard/testkit";
import { newUser, wsUrl, type TestUser } from "./support.js";

let stack: Stack;
let url: string;
let user: TestUser;
let bus: Bus;
let channelId: string;

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${String(stack.gateways[0]!.ready.ops_port)}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(name + " ") || l.startsWith(name + "{"));
  return line ? Number(line.split(" ").pop()) : 0;
}

interface Reader {
  ws: WebSocket;
  frames: { event?: string; seq?: number; data?: { n?: number; connection_id?: string } }[];
  close: Promise<number>;
}

function reader(query = ""): Promise<Reader> {
  const ws = new WebSocket(wsUrl(url) + query, { headers: { Authorization: `Bearer ${user.token}` } });
  const frames: Reader["frames"] = [];
  ws.on("message", (d) => frames.push(JSON.parse((d as Buffer).toString()) as Reader["frames"][number]));
  const close = new Promise<number>((r) => ws.on("close", (code) => r(code)));
  return new Promise((resolve) => ws.once("open", () => resolve({ ws, frames, close })));
}

beforeAll(async () => {
  stack = await startStack({ gatewayEnv: { SB_GATEWAY_MAX_BUFFERED_BYTES: String(256 * 1024) } });
  url = stack.gatewayUrls[0]!;
  user = await newUser(url, "slow");
  const team = await user.client.createTeam({ name: `t${Date.now()}`, display_name: "T", type: "O" } as never);
  channelId = (await user.client.createChannel({ team_id: team.id, name: `c${Date.now()}`, display_name: "C", type: "O" } as never)).id;
  bus = await connectBus({ ...stack.nats.as("posts"), name: "test-publisher" });
});

afterAll(async () => {
  await bus?.close();
  await stack?.stop();
});

describe("a socket that stops reading", () => {
  it("is closed with 4002 after staying at its budget, then resumes with every event in order", async () => {
    const slow = await reader();
    const healthy = await reader();
    await waitFor(() => slow.frames.length >= 1 && healthy.frames.length >= 1, { what: "hello" });
    const connectionId = slow.frames[0]!.data!.connection_id!;
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();

    const pad = "x".repeat(16 * 1024);
    let sent = 0;
    const publish = (n: number) => {
      for (let i = 0; i < n; i++) {
        const ev = newEvent({ event: "posted", data: { n: sent++, pad }, broadcast: { channelId } });
        bus.publish(subjects.channel(channelId), encodeEvent(ev));
      }
    };
    // Fill the kernel buffers and the socket's budget, then stop: the socket is stalled.
    await waitFor(
      async () => {
        if ((await metric("sb_gateway_stalled_sockets")) >= 1) return true;
        publish(16);
        return false;
      },
      { timeoutMs: 30_000, intervalMs: 50, what: "the slow socket to stall" },
    );
    await waitFor(async () => (await metric("sb_gateway_slow_closes_total")) >= 1, { timeoutMs: 10_000, what: "slow close" });
    expect(await metric("sb_gateway_queue_overflows_total")).toBe(0);

    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await slow.close).toBe(4002);
    const posted = (r: Reader["frames"]) => r.filter((f) => f.event === "posted");
    await waitFor(() => posted(healthy.frames).length === sent, { what: "healthy client to get everything" });

    // Everything written before the close arrived in order, with no hole.
    expect(slow.frames.map((f) => f.seq)).toEqual(slow.frames.map((_, i) => i));
    const got = posted(slow.frames);
    expect(got.map((f) => f.data!.n)).toEqual(got.map((_, i) => i));
    expect(got.length).toBeLessThan(sent);

    // The stock client's resume: the rest is replayed, nothing is missing.
    const next = slow.frames.length;
    const again = await reader(`?connection_id=${connectionId}&sequence_number=${next}`);
    await waitFor(() => posted(again.frames).length >= sent - got.length, { what: "replay" });
    expect(again.frames.some((f) => f.event === "hello")).toBe(false);
    expect(again.frames[0]!.seq).toBe(next);
    expect(again.frames.map((f) => f.seq)).toEqual(again.frames.map((_, i) => next + i));
    expect(posted(again.frames).map((f) => f.data!.n)).toEqual(Array.from({ length: sent - got.length }, (_, i) => got.length + i));
    again.ws.close();
    healthy.ws.close();
  });
});
