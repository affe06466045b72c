/** The client of each Switchboard service, as every caller (deployables, tests, tools) names it. */
import type { AccountsService } from "@switchboard/proto/accounts";
import type { PostsService } from "@switchboard/proto/posts";
import type { PresenceService } from "@switchboard/proto/presence";
import type { RpcClient } from "./client.js";

export type AccountsClient = RpcClient<(typeof AccountsService)["method"]>;
export type PostsClient = RpcClient<(typeof PostsService)["method"]>;
export type PresenceClient = RpcClient<(typeof PresenceService)["method"]>;
