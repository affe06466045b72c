/** Bytes between protobuf-es (Uint8Array) and grpc-js (Buffer), never copied. */

/** grpc-js (de)serializer for methods whose messages are already bytes. */
export const passthrough = (b: Buffer): Buffer => b;

/** A Buffer over the same memory. */
export function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}
