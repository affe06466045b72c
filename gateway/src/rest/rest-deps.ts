import type { AccountsClient, PostsClient, PresenceClient } from "../service-clients.js";
import type { RestAuth } from "./rest-auth.js";

/** What the REST handlers call: the services (with the caller's token) and the caller check. */
export interface RestDeps {
  readonly accounts: AccountsClient;
  readonly posts: PostsClient;
  readonly presence: PresenceClient;
  readonly auth: RestAuth;
  readonly deadlineMs: number;
  readonly secureCookies: boolean;
  /** True when NATS and the services answer (system ping). */
  readonly healthy: () => boolean;
  readonly clientConfig: () => Record<string, string>;
}
