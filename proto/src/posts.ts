export * from "./gen/sb/posts/v1/posts_pb.js";
