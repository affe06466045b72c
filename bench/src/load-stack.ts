/**
 * What the WebSocket load scenarios share: a stack of their own whose edge limits admit
 * thousands of sockets from one address at once (above the defaults for real use,
 * docs/protocol.md "Limits", which this load is not), and a wait for the connections to go quiet.
 */
import { startStack, type Stack } from "@switchboard/testkit";
import type { LoadClient } from "./ws-load/load-client-pool.js";

/** A stack with its own nats-server (the shared one exists only under vitest) and the upgrade and per-address limits off. */
export function startLoadStack(o: { gatewayNodeArgs: readonly string[]; maxConnectionsPerUser?: boolean }): Promise<Stack> {
  return startStack({
    ownNats: true,
    gatewayNodeArgs: [...o.gatewayNodeArgs],
    gatewayEnv: { SB_GATEWAY_MAX_UPGRADES_IN_PROGRESS: "0", SB_GATEWAY_UPGRADES_PER_SEC: "0" },
    presenceEnv: {
      SB_PRESENCE_MAX_CONNECTIONS_PER_IP: "0",
      ...(o.maxConnectionsPerUser === false ? {} : { SB_PRESENCE_MAX_CONNECTIONS_PER_USER: "1024" }),
    },
  });
}

/**
 * Waits until the connections have been quiet for half a second: the status changes that
 * follow thousands of connects (each user going online, to every connection of that user) are
 * neither counted nor charged to what is measured next.
 */
export async function settle(client: LoadClient): Promise<void> {
  let last = (await client.count()).total;
  for (let quiet = 0; quiet < 5;) {
    await new Promise((r) => setTimeout(r, 100));
    const now = (await client.count()).total;
    quiet = now === last ? quiet + 1 : 0;
    last = now;
  }
}
