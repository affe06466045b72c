/**
 * Every Switchboard service's allowlist (one file per service), by gRPC path. The standard
 * services (grpc.health.v1, grpc.reflection) are open to any authenticated workload on the
 * TLS port; health is also served without credentials on the plaintext health port.
 */
import { AccountsService } from "@switchboard/proto/accounts";
import { PostsService } from "@switchboard/proto/posts";
import { PresenceService } from "@switchboard/proto/presence";
import { accountsAllowlist } from "./accounts.js";
import { byPath } from "./allowlist.js";
import { postsAllowlist } from "./posts.js";
import { presenceAllowlist } from "./presence.js";

export const CALLERS_BY_PATH: ReadonlyMap<string, ReadonlySet<string>> = new Map(
  [...byPath(AccountsService, accountsAllowlist), ...byPath(PostsService, postsAllowlist), ...byPath(PresenceService, presenceAllowlist)].map(([p, c]) => [
    p,
    new Set(c),
  ]),
);

/** Paths of the standard gRPC services (health, reflection): any authenticated workload. */
export const OPEN_TO_ANY_WORKLOAD = /^\/grpc\.(health\.v1\.Health|reflection\.v1(alpha)?\.ServerReflection)\//;
