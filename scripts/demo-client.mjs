#!/usr/bin/env node
// A stock Mattermost client (the unmodified npm @mattermost/client) talking to a running
// Switchboard (`make dev`): two users, a team, a channel, both connected over WebSocket;
// alice posts, both see the `posted` event; bob types, alice sees `typing`.
// Usage: node scripts/demo-client.mjs [http://127.0.0.1:8065]
import { randomBytes } from "node:crypto";
import { newClient4, newWebSocketClient } from "@switchboard/testkit";

const url = process.argv[2] ?? "http://127.0.0.1:8065";
const suffix = randomBytes(3).toString("hex");

async function user(name) {
  const username = `${name}${suffix}`;
  await newClient4(url).createUser({ username, email: `${username}@example.com`, password: "password-1" }, "", "");
  const client = newClient4(url);
  const me = await client.login(username, "password-1");
  return { me, client };
}

function listen(name, token) {
  const ws = newWebSocketClient({ headers: { Authorization: `Bearer ${token}` } });
  ws.addMessageListener((msg) => {
    const extra = msg.event === "posted" ? ` post=${JSON.parse(msg.data.post).message}` : "";
    console.log(`${name} <- ${msg.event} seq=${msg.seq}${extra}`);
  });
  ws.initialize(`${url.replace(/^http/, "ws")}/api/v4/websocket`, undefined, true);
  return ws;
}

const alice = await user("alice");
const bob = await user("bob");
const team = await alice.client.createTeam({ name: `demo${suffix}`, display_name: "Demo", type: "O" });
await alice.client.addToTeam(team.id, bob.me.id);
const channel = await alice.client.createChannel({ team_id: team.id, name: `demo${suffix}`, display_name: "Demo", type: "O" });
await alice.client.addToChannel(bob.me.id, channel.id);

const wsA = listen("alice", alice.client.getToken());
const wsB = listen("bob  ", bob.client.getToken());
await new Promise((r) => setTimeout(r, 500));

await alice.client.createPost({ channel_id: channel.id, message: `hello from alice (@${bob.me.username})` });
wsB.userTyping(channel.id, "");
await new Promise((r) => setTimeout(r, 1000));
const statuses = await alice.client.getStatusesByIds([alice.me.id, bob.me.id]);
console.log("statuses:", statuses.map((s) => `${s.user_id === alice.me.id ? "alice" : "bob"}=${s.status}`).join(" "));
wsA.close();
wsB.close();
