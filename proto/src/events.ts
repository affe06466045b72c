export * from "./gen/sb/events/v1/events_pb.js";
