export * from "./gen/sb/gateway/v1/resume_pb.js";
