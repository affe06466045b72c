/**
 * PostgreSQL's cancel request (frontend/backend protocol, "Canceling Requests in Progress"): a
 * new connection to the server that sends the backend's process id and secret key, and
 * nothing else; the server interrupts whatever that backend runs, and the query fails with
 * 57014 (query_canceled). Written here because pg has no public API for it (Client.cancel
 * needs the client's internal active query). Costs no connection slot on the server.
 */
import { connect } from "node:net";

const CANCEL_REQUEST_CODE = 80877102;
const GIVE_UP_MS = 5_000;

export interface Backend {
  readonly host: string;
  readonly port: number;
  readonly processID: number | null;
  readonly secretKey: number | null;
}

/** Asks the server to cancel what `b` runs now; never throws (a lost cancel leaves the statement timeout). */
export function cancelBackend(b: Backend): void {
  if (b.processID === null || b.secretKey === null) return;
  const msg = Buffer.alloc(16);
  msg.writeInt32BE(16, 0);
  msg.writeInt32BE(CANCEL_REQUEST_CODE, 4);
  msg.writeInt32BE(b.processID, 8);
  msg.writeInt32BE(b.secretKey, 12);
  const s = b.host.startsWith("/") ? connect(`${b.host}/.s.PGSQL.${b.port}`) : connect(b.port, b.host);
  s.setTimeout(GIVE_UP_MS, () => s.destroy());
  s.on("error", () => undefined);
  s.on("connect", () => s.end(msg));
}
