export * from "./gen/sb/accounts/v1/accounts_pb.js";
