/**
 * The load generator's hand-framed gRPC caller against a real @switchboard/rpc server: it must
 * return the answer's bytes, and refuse anything but a clean OK answer, or a benchmark would
 * count failures as throughput.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { silentLogger } from "@switchboard/log";
import { AppError } from "@switchboard/model";
import { GetStatusRequestSchema, GetStatusResponseSchema, PresenceService } from "@switchboard/proto/presence";
import { createRpcServer, RPC_SERVER_TRANSPORTS, type ImplOf, type RpcServer } from "@switchboard/rpc";
import { connectLeanGrpc, LeanGrpcError, type LeanGrpcClient } from "../src/lean-grpc.js";

const never = () => new Promise<never>(() => {});
const impl: ImplOf<typeof PresenceService> = {
  async getStatus(req, ctx) {
    if (req.userId === "missing") throw new AppError("not_found", "Unable to find the user.", "app.user.missing_account.const");
    if (req.userId === "slow") return never();
    return { status: { userId: req.userId, status: ctx.bearerToken() ?? "anonymous" } };
  },
  getStatuses: never,
  listActiveStatuses: never,
  setStatus: never,
  acquireLease: never,
  report: never,
  releaseLease: never,
};

const path = `/${PresenceService.typeName}/GetStatus`;
const ask = (userId: string) => toBinary(GetStatusRequestSchema, create(GetStatusRequestSchema, { userId }));

describe.each(RPC_SERVER_TRANSPORTS)("lean gRPC caller against a server on %s", (transport) => {
  let server: RpcServer;
  let port: number;
  let client: LeanGrpcClient;
  beforeAll(async () => {
    server = createRpcServer({ transport, host: "127.0.0.1", port: 0, maxMessageBytes: 64 * 1024, defaultDeadlineMs: 5_000, logger: silentLogger });
    server.add(PresenceService, impl);
    port = await server.start();
    client = await connectLeanGrpc({ address: `127.0.0.1:${String(port)}`, token: "tok-1", deadlineMs: 300 });
  });
  afterAll(async () => {
    await client.close();
    await server.stop(1000);
  });

  it("returns the answer's message, with the token and deadline sent as metadata", async () => {
    const answers = await Promise.all(["a", "b", "c"].map(async (id) => fromBinary(GetStatusResponseSchema, await client.unary(path, ask(id))).status));
    expect(answers.map((s) => [s?.userId, s?.status])).toEqual([
      ["a", "tok-1"],
      ["b", "tok-1"],
      ["c", "tok-1"],
    ]);
  });

  it("rejects an error answer with its gRPC status", async () => {
    const e = await client.unary(path, ask("missing")).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(LeanGrpcError);
    expect((e as LeanGrpcError).grpcStatus).toBe(5); // NOT_FOUND
    expect((e as LeanGrpcError).message).toMatch(/Unable to find the user/);
  });

  it("rejects an unknown method and a call past its deadline", async () => {
    expect(((await client.unary(`/${PresenceService.typeName}/NoSuch`, ask("a")).catch((err: unknown) => err)) as LeanGrpcError).grpcStatus).toBe(12); // UNIMPLEMENTED
    expect(((await client.unary(path, ask("slow")).catch((err: unknown) => err)) as LeanGrpcError).grpcStatus).toBe(4); // DEADLINE_EXCEEDED
  });
});
