/**
 * The connections of one client address across all gateways (KV `ip.<hex>`), for the
 * per-address limit: read, change a copy, compare-and-set, and on a conflict re-read and
 * change again, as the user writer does. Entries of leases that are no longer open (expired,
 * released, deleted) are dropped by every write, so a dead gateway's connections stop
 * counting without a sweep; an empty record is deleted.
 */
import { KvConflictError, type IpRecord } from "@switchboard/bus";
import { contended } from "../errors.js";
import type { PresenceKv, Versioned } from "../store/presence-kv.js";

export interface AddressEvent {
  readonly kind: "opened" | "closed";
  readonly connectionId: string;
}

export interface IpWriter {
  /**
   * Applies one report's events of one address in order (`reset`: the lease's earlier
   * connections there are closed first, a full snapshot). Resolves with the ids of the opened
   * connections refused because the address held `max` connections.
   */
  apply(clientIp: string, leaseId: string, events: readonly AddressEvent[], reset: boolean): Promise<Set<string>>;
}

const MAX_ATTEMPTS = 25;

function count(r: IpRecord): number {
  let n = 0;
  for (const k in r.conns) n += r.conns[k]!.length;
  return n;
}

export function createIpWriter(o: { kv: PresenceKv; max: number; leaseClosed: (leaseId: string) => Promise<boolean> }): IpWriter {
  return {
    async apply(clientIp, leaseId, events, reset) {
      let current: Versioned<IpRecord> | null = await o.kv.getIp(clientIp);
      for (let attempt = 1; ; attempt++) {
        const conns: Record<string, string[]> = {};
        for (const [lease, ids] of Object.entries(current?.value.conns ?? {})) {
          if (lease === leaseId ? !reset : !(await o.leaseClosed(lease))) conns[lease] = [...ids];
        }
        const draft: IpRecord = { conns };
        const refused = new Set<string>();
        for (const e of events) {
          const list = (draft.conns[leaseId] ??= []);
          const i = list.indexOf(e.connectionId);
          if (e.kind === "closed") {
            if (i >= 0) list.splice(i, 1);
          } else if (i < 0) {
            if (count(draft) < o.max) list.push(e.connectionId);
            else refused.add(e.connectionId);
          }
          if (list.length === 0) delete draft.conns[leaseId];
        }
        if (JSON.stringify(draft) === JSON.stringify(current?.value ?? { conns: {} })) return refused;
        try {
          if (count(draft) > 0) await o.kv.writeIp(clientIp, draft, current?.revision ?? 0);
          else if (current) await o.kv.deleteIp(clientIp, current.revision);
          return refused;
        } catch (e: unknown) {
          if (!(e instanceof KvConflictError)) throw e;
          if (attempt >= MAX_ATTEMPTS) throw contended(`address ${clientIp}`);
          current = await o.kv.getIp(clientIp);
          if (attempt > 3) await new Promise((r) => setTimeout(r, Math.random() * attempt * 2));
        }
      }
    },
  };
}
