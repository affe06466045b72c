/**
 * A loopback relay for callers that cannot present a client certificate (h2load): each
 * plaintext connection it accepts is carried over mTLS, as the given identity, to a service's
 * gRPC port, byte for byte (the caller's HTTP/2 goes through inside the TLS session). Its CPU
 * is the caller's side of the measurement, as TLS is in a real caller.
 */
import { createServer, type Socket } from "node:net";
import { connect } from "node:tls";
import type { IdentityFiles } from "@switchboard/pki";
import { mtlsConnectOptions } from "./lean-grpc.js";

export interface TlsRelay {
  /** The plaintext port on 127.0.0.1. */
  readonly port: number;
  close(): Promise<void>;
}

export async function startTlsRelay(o: { readonly targetPort: number; readonly tls: IdentityFiles & { readonly server: string } }): Promise<TlsRelay> {
  const options = { host: "127.0.0.1", port: o.targetPort, ...mtlsConnectOptions(o.tls) };
  const sockets = new Set<Socket>();
  const server = createServer({ noDelay: true }, (plain) => {
    const secure = connect(options);
    secure.setNoDelay(true);
    for (const s of [plain, secure]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {
        plain.destroy();
        secure.destroy();
      });
    }
    plain.pipe(secure).pipe(plain);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const a = server.address();
  return {
    port: typeof a === "object" && a ? a.port : 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
