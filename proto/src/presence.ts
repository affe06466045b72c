export * from "./gen/sb/presence/v1/presence_pb.js";
