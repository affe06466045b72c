/**
 * Open-loop load for latency: sends go out on a fixed schedule (send i at start + i / rate),
 * whatever the server does meanwhile, and each latency is measured from the send's scheduled
 * time, not from when it actually went out. A server that stalls therefore charges the stall
 * to every send that should have gone out during it (no coordinated omission: a closed loop,
 * or an open loop timed from the actual send, would hide it).
 */

/** When send i is due: `startMs + i * 1000 / ratePerS`. */
export function scheduledAt(startMs: number, ratePerS: number, i: number): number {
  if (!(ratePerS > 0)) throw new Error(`an open loop needs a positive rate, got ${String(ratePerS)}`);
  return startMs + (i * 1000) / ratePerS;
}

/** How many sends a run of `durationMs` at `ratePerS` makes (at least one). */
export function sendCount(ratePerS: number, durationMs: number): number {
  return Math.max(1, Math.round((ratePerS * durationMs) / 1000));
}

export interface OpenLoopRun {
  /** Each send's scheduled time (ms, the clock `now` reads), by index. */
  readonly scheduled: Float64Array;
  /** How late each send actually went out, ms (how far the sender itself fell behind). */
  readonly lagMs: Float64Array;
}

/**
 * Calls `send(i)` for i = 0 … count-1, each at its scheduled time (or at once when already
 * late: the schedule is never shifted, so a late sender shows as lag, and its sends' latencies,
 * taken from `scheduled`, include the lateness). Sends are not awaited by the schedule: a slow
 * answer never delays the next send. Resolves once every send has settled; the first error is
 * thrown then.
 */
export async function openLoop(o: {
  readonly ratePerS: number;
  readonly count: number;
  readonly send: (i: number) => Promise<void>;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}): Promise<OpenLoopRun> {
  const now = o.now ?? (() => performance.timeOrigin + performance.now());
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const scheduled = new Float64Array(o.count);
  const lagMs = new Float64Array(o.count);
  const pending: Promise<void>[] = [];
  let failure: Error | undefined;
  const start = now();
  for (let i = 0; i < o.count; i++) {
    const due = scheduledAt(start, o.ratePerS, i);
    scheduled[i] = due;
    const wait = due - now();
    if (wait > 0) await sleep(wait);
    lagMs[i] = Math.max(0, now() - due);
    pending.push(
      o.send(i).catch((e: unknown) => {
        failure ??= e instanceof Error ? e : new Error("a send failed", { cause: e });
      }),
    );
  }
  await Promise.all(pending);
  if (failure) throw failure;
  return { scheduled, lagMs };
}

/**
 * Latencies from an arrival table: `arrivedAt[c * sends + i]` is when connection c got send i
 * (0: never). Returns every delivery's latency from its send's scheduled time, ascending, and
 * per send the latency of its last delivery (the last member's), ascending; a send some
 * connection never got counts as Infinity in the latter and is left out of the former.
 */
export function deliveryLatencies(
  scheduled: Float64Array,
  arrivedAt: Float64Array,
  connections: number,
  expects: (connection: number, send: number) => boolean = () => true,
): { perDelivery: number[]; lastMemberPerSend: number[] } {
  const sends = scheduled.length;
  if (arrivedAt.length !== sends * connections)
    throw new Error(`arrival table of ${String(arrivedAt.length)} for ${String(sends)} sends × ${String(connections)} connections`);
  const perDelivery: number[] = [];
  const last = new Float64Array(sends);
  for (let c = 0; c < connections; c++) {
    for (let i = 0; i < sends; i++) {
      if (!expects(c, i)) continue;
      const t = arrivedAt[c * sends + i]!;
      if (t === 0) {
        last[i] = Infinity;
        continue;
      }
      const ms = t - scheduled[i]!;
      perDelivery.push(ms);
      if (ms > last[i]!) last[i] = ms;
    }
  }
  perDelivery.sort((a, b) => a - b);
  return { perDelivery, lastMemberPerSend: Array.from(last).sort((a, b) => a - b) };
}
