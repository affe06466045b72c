/**
 * A forced full GC in another Node process, through the inspector it was started with
 * (`--inspect=127.0.0.1:<port>`): no hook in the process's own code, nothing in production.
 */
import { createServer } from "node:net";
import { WebSocket } from "ws";

/** A free loopback port for `--inspect`. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => resolve(typeof a === "object" && a ? a.port : 0));
    });
  });
}

/** Runs HeapProfiler.collectGarbage in the process whose inspector listens on `port`. */
export async function collectGarbage(port: number): Promise<void> {
  const list = (await (await fetch(`http://127.0.0.1:${String(port)}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
  const ws = new WebSocket(list[0]!.webSocketDebuggerUrl, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once("error", reject);
    ws.once("open", () => ws.send(JSON.stringify({ id: 1, method: "HeapProfiler.collectGarbage" })));
    ws.on("message", (d: Buffer) => {
      if ((JSON.parse(d.toString()) as { id?: number }).id === 1) resolve();
    });
  });
  ws.close();
}
