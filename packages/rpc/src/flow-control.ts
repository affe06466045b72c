/**
 * HTTP/2 flow-control windows for the gRPC connections between deployables. HTTP/2 starts
 * every stream and every connection with 65,535 bytes of window; one channel carries all of a
 * caller's concurrent calls, so a few dozen calls of a few kilobytes each (100 statuses, a
 * page of posts) wait for WINDOW_UPDATE frames. Both ends open 1 MiB per stream and per
 * connection instead (our servers in h2/connection.ts, grpc-js clients through
 * `grpc-node.flow_control_window`); grpc-go grows its windows the same way (BDP estimation).
 */
export const FLOW_CONTROL_WINDOW_BYTES = 1 << 20;
