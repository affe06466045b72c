/**
 * The allowlist of a service: for each of its methods, the components that may call it.
 * Typed over the generated descriptor, so a method without an entry does not compile; the
 * descriptor test (test/allowlists.int.test.ts) checks the same at run time, method by method.
 */
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import type { Component } from "@switchboard/pki";

export type Allowlist<T extends GenServiceMethods> = { readonly [K in keyof T]: readonly Component[] };

/** The callers of each method by gRPC path ("/sb.posts.v1.PostsService/CreatePost"). */
export function byPath<T extends GenServiceMethods>(service: GenService<T>, list: Allowlist<T>): [string, readonly Component[]][] {
  return service.methods.map((m) => [`/${service.typeName}/${m.name}`, (list as Record<string, readonly Component[]>)[m.localName] ?? []]);
}
