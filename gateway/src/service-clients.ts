/**
 * The gRPC clients of the services the gateway calls, started (and stopped) with the app,
 * authenticated as SB_RPC_AUTH says (its certificate, or a service token signed with its key).
 */
import type { Lifecycle } from "@switchboard/lifecycle";
import { AccountsService } from "@switchboard/proto/accounts";
import { PostsService } from "@switchboard/proto/posts";
import { PresenceService } from "@switchboard/proto/presence";
import { clientComponent, rpcCaller, type RpcAuthSettings } from "@switchboard/runtime";
import { createRpcClient, type AccountsClient, type PostsClient, type PresenceClient } from "@switchboard/rpc";

export interface ServiceClients {
  readonly accounts: AccountsClient;
  readonly posts: PostsClient;
  readonly presence: PresenceClient;
}

export interface ServiceAddresses extends RpcAuthSettings {
  readonly accountsAddr: string;
  readonly postsAddr: string;
  readonly presenceAddr: string;
  readonly rpcDeadlineMs: number;
}

export async function startServiceClients(lifecycle: Lifecycle, c: ServiceAddresses): Promise<ServiceClients> {
  const as = rpcCaller("gateway", c);
  const rpc = { defaultDeadlineMs: c.rpcDeadlineMs };
  const accounts = createRpcClient(AccountsService, { address: c.accountsAddr, ...as("accounts"), ...rpc });
  const posts = createRpcClient(PostsService, { address: c.postsAddr, ...as("posts"), ...rpc });
  const presence = createRpcClient(PresenceService, { address: c.presenceAddr, ...as("presence"), ...rpc });
  for (const [name, client] of [
    ["accounts-client", accounts],
    ["posts-client", posts],
    ["presence-client", presence],
  ] as const) {
    await lifecycle.start(clientComponent(name, client));
  }
  return { accounts, posts, presence };
}
