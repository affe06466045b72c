/**
 * V8 settings for a process that serves requests: set once, first thing in every deployable.
 *
 * Allocation-site pretenuring off. V8 watches where objects are allocated (array literals,
 * for instance) and, when one young-generation collection finds nearly all of a site's recent
 * objects alive, allocates that site's objects in the old generation from then on. In a
 * server the objects of calls in flight are alive at any collection, and a burst (the first
 * seconds under load, a slow moment) is enough for a site that makes per-call arrays to be
 * switched for good. Those arrays then die in the old generation and, until the next full
 * collection, keep everything they point to (the rest of their call) alive through every
 * young-generation collection: presence at 32 GetStatuses in flight went from scavenges of
 * 0.5 ms promoting nothing to 5-7 ms scavenges promoting 1.6 KB per call and mark-compacts
 * several times a second, in about half the runs, depending only on when that burst fell
 * (bench presence-read; the figures are in its notes).
 */
import { setFlagsFromString } from "node:v8";

export function tuneV8ForServing(): void {
  setFlagsFromString("--no-allocation-site-pretenuring");
}
