/**
 * A test-only failpoint that makes this replica's KV watch late, as a loaded replica's may be:
 * SB_FAILPOINTS entry `presence.watch_lag_ms.<N>` delays every entry the watch brings by N ms
 * (in order). Writes of this replica's own are in its cache at once as always. Absent in
 * production: the watch then applies entries directly.
 */
const PREFIX = "presence.watch_lag_ms.";

export function watchLagFailpoint(enabled: readonly string[]): number {
  let lag = 0;
  for (const n of enabled) {
    if (!n.startsWith(PREFIX)) continue;
    const v = n.slice(PREFIX.length);
    if (!/^[1-9][0-9]{0,5}$/.test(v)) throw new Error(`failpoint ${n}: expected ${PREFIX}<milliseconds, a positive integer>`);
    lag = Number(v);
  }
  return lag;
}
