import { status as Status } from "@grpc/grpc-js";
import { create, createRegistry, fromBinary, toBinary, type DescFile } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Health } from "@switchboard/proto/health";
import {
  ServerReflection,
  ServerReflectionRequestSchema,
  ServerReflectionResponseSchema,
  type ServerReflectionRequest,
  type ServerReflectionResponse,
} from "@switchboard/proto/reflection";
import type { MethodHandler } from "./call.js";

/** grpc.reflection.v1 over the descriptors protobuf-es generated (no .proto files at runtime). */
export function reflectionMethods(services: readonly GenService<GenServiceMethods>[]): [string, MethodHandler][] {
  const all = [...services, Health as unknown as GenService<GenServiceMethods>, ServerReflection as unknown as GenService<GenServiceMethods>];
  const registry = createRegistry(...all.map((s) => s.file));
  const byName = new Map<string, DescFile>();
  const index = (f: DescFile): void => {
    if (byName.has(f.name + ".proto")) return;
    byName.set(f.name + ".proto", f);
    f.dependencies.forEach(index);
  };
  all.forEach((s) => index(s.file));

  const withDeps = (f: DescFile): Uint8Array[] => {
    const seen = new Set<string>();
    const out: Uint8Array[] = [];
    const visit = (d: DescFile): void => {
      if (seen.has(d.name)) return;
      seen.add(d.name);
      out.push(toBinary(FileDescriptorProtoSchema, d.proto));
      d.dependencies.forEach(visit);
    };
    visit(f);
    return out;
  };

  const answer = (req: ServerReflectionRequest): ServerReflectionResponse => {
    const base = { validHost: req.host, originalRequest: req };
    const notFound = (what: string) =>
      create(ServerReflectionResponseSchema, {
        ...base,
        messageResponse: { case: "errorResponse", value: { errorCode: Status.NOT_FOUND, errorMessage: `${what} not found` } },
      });
    const files = (f: DescFile) =>
      create(ServerReflectionResponseSchema, { ...base, messageResponse: { case: "fileDescriptorResponse", value: { fileDescriptorProto: withDeps(f) } } });
    const r = req.messageRequest;
    switch (r.case) {
      case "listServices":
        return create(ServerReflectionResponseSchema, {
          ...base,
          messageResponse: { case: "listServicesResponse", value: { service: all.map((s) => ({ name: s.typeName })) } },
        });
      case "fileByFilename": {
        const f = byName.get(r.value);
        return f ? files(f) : notFound(`file ${r.value}`);
      }
      case "fileContainingSymbol": {
        const symbol = r.value.replace(/^\./, "");
        const d = registry.get(symbol) ?? registry.get(symbol.replace(/\.[^.]+$/, ""));
        const file = d && "file" in d ? d.file : undefined;
        return file ? files(file) : notFound(`symbol ${symbol}`);
      }
      default:
        return create(ServerReflectionResponseSchema, {
          ...base,
          messageResponse: { case: "errorResponse", value: { errorCode: Status.UNIMPLEMENTED, errorMessage: "not supported" } },
        });
    }
  };

  const m = ServerReflection.method.serverReflectionInfo;
  const info: MethodHandler = {
    kind: "bidi",
    handle(call) {
      call.onMessage = (buf) => {
        let req: ServerReflectionRequest;
        try {
          req = fromBinary(ServerReflectionRequestSchema, buf);
        } catch {
          call.finish({ code: Status.INVALID_ARGUMENT, details: "bad reflection request" });
          return;
        }
        call.send(toBinary(ServerReflectionResponseSchema, answer(req)));
      };
      call.onHalfClose = () => call.finish({ code: Status.OK });
    },
  };
  return [[`/${ServerReflection.typeName}/${m.name}`, info]];
}
