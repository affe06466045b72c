/**
 * The allowlist of a service: for each of its methods, the components that may call it.
 * Typed over the generated descriptor, so a method without an entry does not compile; the
 * descriptor test (test/allowlists.int.test.ts) checks the same at run time, method by method.
 */
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import type { Component } from "@switchboard/pki";

export type Allowlist<T extends GenServiceMethods> = { readonly [K in keyof T]: readonly Component[] };

/**
 * The callers of each method by gRPC path ("/sb.posts.v1.PostsService/CreatePost"). A method
 * the list lacks (a list not type-checked) has no path here: a server serving it refuses to start.
 */
export function byPath<T extends GenServiceMethods>(service: GenService<T>, list: Allowlist<T>): [string, readonly Component[]][] {
  const out: [string, readonly Component[]][] = [];
  for (const m of service.methods) {
    const callers = (list as Partial<Record<string, readonly Component[]>>)[m.localName];
    if (callers !== undefined) out.push([`/${service.typeName}/${m.name}`, callers]);
  }
  return out;
}
