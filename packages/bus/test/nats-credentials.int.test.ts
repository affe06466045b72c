/**
 * NATS credentials without a restart, and TLS: a component reads its password from a file at
 * every connect, so rotating the passwords (new file, then nats-server reloads the generated
 * configuration on SIGHUP) moves every connection to the new ones; the old ones stop working.
 * With TLS configured, clients reach the server only over TLS, verified against the CA.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { afterEach, describe, expect, it } from "vitest";
import { newEvent } from "@switchboard/model";
import { startNatsCluster, startNatsServer, waitFor, type NatsServer } from "@switchboard/testkit";
import { connectBus, decodeEvent, encodeEvent, rotateNatsPasswords, subjects, writePasswordFiles, type Bus, type BusStatusEvent } from "../src/index.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "sb-nats-creds-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function started(s: Promise<NatsServer>): Promise<NatsServer> {
  const n = await s;
  cleanups.push(() => n.stop());
  return n;
}

async function bus(o: Parameters<typeof connectBus>[0]): Promise<Bus> {
  const b = await connectBus(o);
  cleanups.push(() => b.close());
  return b;
}

/** Publishes as posts and waits until the observer has it: the path works end to end. */
async function roundTrip(posts: Bus, seen: string[]): Promise<void> {
  const ev = newEvent({ event: "posted", data: {}, broadcast: { channelId: "c".repeat(26) } });
  posts.publish(subjects.channel("c".repeat(26)), encodeEvent(ev));
  await waitFor(() => seen.includes(ev.id), { timeoutMs: 5_000, what: "the event through NATS" });
}

describe("NATS credentials", () => {
  it("rotates every password with a reload, no restart: connections move to the new passwords, the old ones are refused", async () => {
    const nats = await started(startNatsServer({ jetstream: false }));
    const dir = tempDir();
    const files = writePasswordFiles(dir, nats.users);
    const states: BusStatusEvent["state"][] = [];
    const posts = await bus({ servers: nats.url, name: "rotating-posts", user: "posts", passFile: files.posts!, onStatus: (s) => states.push(s.state) });
    const observer = await bus({ servers: nats.url, name: "rotating-observer", user: "test", passFile: files.test! });
    const seen: string[] = [];
    observer.subscribe(subjects.allEvents, (m) => seen.push(decodeEvent(m.data).id));
    await observer.flush();
    await roundTrip(posts, seen);
    const old = nats.as("posts");

    const next = rotateNatsPasswords(nats.users);
    writePasswordFiles(dir, next);
    await nats.reload(next);

    // The server drops the connections whose password no longer holds; they come back with the file's.
    await waitFor(() => states.includes("disconnected") && posts.connected, { timeoutMs: 10_000, what: "posts reconnected with the new password" });
    await waitFor(() => observer.connected, { timeoutMs: 10_000, what: "observer reconnected" });
    await observer.flush();
    await roundTrip(posts, seen);
    await expect(connectBus({ ...old, name: "old-password" })).rejects.toThrow(/Authorization Violation/);
    await expect(connectBus({ ...nats.as("posts"), name: "new-password" }).then((b) => b.close())).resolves.toBeUndefined();
  });

  it("fails the start with the file's path when the password file is missing", async () => {
    const nats = await started(startNatsServer({ jetstream: false }));
    await expect(connectBus({ servers: nats.url, name: "no-file", user: "posts", passFile: "/nonexistent/posts.password" })).rejects.toThrow(
      /nonexistent\/posts\.password/,
    );
  });
});

/** A raw connection to a nats-server: its INFO line, then whatever it says next. */
async function natsGreeting(port: number): Promise<{ socket: Socket; info: Record<string, unknown>; closed(): Promise<string> }> {
  const socket = createConnection({ host: "127.0.0.1", port });
  cleanups.push(() => void socket.destroy());
  let buf = "";
  let ended = false;
  socket.on("data", (d: Buffer) => (buf += d.toString()));
  socket.on("error", () => undefined);
  socket.on("close", () => (ended = true));
  const first = await waitFor(() => (buf.includes("\r\n") ? buf.slice(0, buf.indexOf("\r\n")) : undefined), { timeoutMs: 5_000, what: "INFO" });
  buf = buf.slice(first.length + 2);
  const info = JSON.parse(first.replace(/^INFO /, "")) as Record<string, unknown>;
  // Resolves to everything the server said after INFO, once it closed the connection.
  return { socket, info, closed: () => waitFor(() => (ended ? buf : undefined), { timeoutMs: 10_000, what: "the server to close the connection" }) };
}

/** Upgrades a raw NATS connection to TLS as a client does, trusting only `caFile`. */
async function tlsHandshake(port: number, caFile: string): Promise<"verified"> {
  const { socket } = await natsGreeting(port);
  return new Promise((resolve, reject) => {
    const t = tlsConnect({ socket, ca: readFileSync(caFile), servername: "localhost" }, () => resolve("verified"));
    cleanups.push(() => void t.destroy());
    t.on("error", reject);
  });
}

/** A CA and a server certificate for 127.0.0.1, made with openssl. */
function testCertificates(dir: string): { caFile: string; certFile: string; keyFile: string } {
  const f = (n: string) => join(dir, n);
  const ssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=switchboard test CA", "-keyout", f("ca.key"), "-out", f("ca.pem"));
  ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=nats", "-keyout", f("server.key"), "-out", f("server.csr"));
  writeFileSync(f("ext.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  ssl(
    "x509",
    "-req",
    "-in",
    f("server.csr"),
    "-CA",
    f("ca.pem"),
    "-CAkey",
    f("ca.key"),
    "-CAcreateserial",
    "-days",
    "1",
    "-extfile",
    f("ext.cnf"),
    "-out",
    f("server.pem"),
  );
  return { caFile: f("ca.pem"), certFile: f("server.pem"), keyFile: f("server.key") };
}

describe("NATS over TLS", () => {
  it("serves clients over TLS verified against the CA, and refuses a client that does not speak TLS", async () => {
    const certs = testCertificates(tempDir());
    const nats = await started(startNatsServer({ jetstream: false, config: { tls: certs } }));
    const observer = await bus({ ...nats.as("test"), name: "tls-observer", tls: { caFile: certs.caFile } });
    const posts = await bus({ ...nats.as("posts"), name: "tls-posts", tls: { caFile: certs.caFile } });
    const seen: string[] = [];
    observer.subscribe(subjects.allEvents, (m) => seen.push(decodeEvent(m.data).id));
    await observer.flush();
    await roundTrip(posts, seen);
    // A client that does not speak TLS (the NATS client would retry it for ever): the server
    // announces TLS as required, never answers a plaintext CONNECT, and closes the connection.
    const plain = await natsGreeting(nats.port);
    expect(plain.info.tls_required).toBe(true);
    plain.socket.write(`CONNECT ${JSON.stringify({ user: "posts", pass: nats.as("posts").pass, verbose: false })}\r\nPING\r\n`);
    expect(await plain.closed()).not.toMatch(/PONG|\+OK/);
    // The server's certificate verifies against the CA, and against no other.
    await expect(tlsHandshake(nats.port, certs.caFile)).resolves.toBe("verified");
    const other = testCertificates(tempDir());
    await expect(tlsHandshake(nats.port, other.caFile)).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
  });

  it("runs a cluster's routes over TLS: the nodes verify each other against the CA and carry messages between them", async () => {
    const certs = testCertificates(tempDir());
    const cluster = await startNatsCluster({ nodes: 2, tls: certs });
    cleanups.push(() => cluster.stop());
    const [n0, n1] = cluster.nodes as [NatsServer, NatsServer];
    const observer = await bus({ ...n1.as("test"), name: "tls-route-observer", tls: { caFile: certs.caFile } });
    const posts = await bus({ ...n0.as("posts"), name: "tls-route-posts", tls: { caFile: certs.caFile } });
    const seen: string[] = [];
    observer.subscribe(subjects.allEvents, (m) => seen.push(decodeEvent(m.data).id));
    await observer.flush();
    // The subscription reaches the other node over the route first: until then a publish there is lost.
    await waitFor(
      async () => {
        const ev = newEvent({ event: "posted", data: {}, broadcast: { channelId: "c".repeat(26) } });
        posts.publish(subjects.channel("c".repeat(26)), encodeEvent(ev));
        await posts.flush();
        await new Promise((r) => setImmediate(r));
        return seen.length > 0;
      },
      { timeoutMs: 10_000, what: "an event across the TLS route" },
    );
    // The route port speaks TLS from the first byte, and only to a peer with a certificate the CA signed.
    const { cluster: routes } = JSON.parse(readFileSync(n0.configFile, "utf8")) as { cluster: { listen: string } };
    const routePort = Number(routes.listen.split(":")[1]);
    const peer = (withCert: boolean) =>
      new Promise<string>((resolve, reject) => {
        const t = tlsConnect({
          host: "127.0.0.1",
          port: routePort,
          servername: "localhost",
          ca: readFileSync(certs.caFile),
          ...(withCert ? { cert: readFileSync(certs.certFile), key: readFileSync(certs.keyFile) } : {}),
        });
        cleanups.push(() => void t.destroy());
        let got = "";
        t.on("data", (d: Buffer) => {
          got += d.toString();
          if (got.includes("\r\n")) resolve(got);
        });
        t.on("error", reject);
        t.on("close", () => reject(new Error(`closed after ${JSON.stringify(got)}`)));
      });
    await expect(peer(true)).resolves.toMatch(/^INFO /);
    await expect(peer(false)).rejects.toThrow();
  });
});
