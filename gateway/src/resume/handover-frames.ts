/**
 * Rendered frames on the resume wire. A frame in a connection's log ends with a seq slot sized
 * by this build (outbound.ts); on the wire it travels without it, as its JSON text up to and
 * including `"seq":`, so builds with different slot widths read each other's frames.
 */
import { SEQ_SLOT } from "../protocol/outbound.js";

const SEQ_KEY = new TextEncoder().encode('"seq":');
/** What follows the wire form in a rendered frame: the empty slot and the closing brace. */
const TAIL = new TextEncoder().encode(" ".repeat(SEQ_SLOT) + "}");

/** The wire form of a rendered frame (a view of it: encode it before the frame changes). */
export function frameToWire(frame: Uint8Array): Uint8Array {
  return frame.subarray(0, frame.length - TAIL.length);
}

/** A rendered frame from its wire form; undefined when it does not end with `"seq":`. */
export function frameFromWire(wire: Uint8Array): Uint8Array | undefined {
  if (wire.length < SEQ_KEY.length + 2) return undefined;
  for (let i = 0; i < SEQ_KEY.length; i++) if (wire[wire.length - SEQ_KEY.length + i] !== SEQ_KEY[i]) return undefined;
  const frame = new Uint8Array(wire.length + TAIL.length);
  frame.set(wire, 0);
  frame.set(TAIL, wire.length);
  return frame;
}
