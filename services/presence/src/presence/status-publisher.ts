/**
 * Publishing status_change, exactly once per change and in an order that ends right:
 *
 * 1. The replica whose compare-and-set wrote a change publishes its event durably on the
 *    user's subject, with the event id as Nats-Msg-Id (a retry is stored once).
 * 2. It then confirms by clearing the record's pending_event. Until then the record says an
 *    event is owed: if the writer died between write and publish, a sweep publishes it
 *    (same id) after republishAfterMs; the sweeping replicas claim it by compare-and-set, so
 *    one of them publishes it.
 * 3. Two replicas writing one user at once may publish in the opposite order of their
 *    writes. The confirm detects that (the record has moved on to another status) and
 *    publishes the current status again, so the last event a client sees is the final state.
 *
 * With SB_PRESENCE_PUSH_TO_PARTNERS, each published change is also sent to the users who share
 * a direct or group channel with the user (best effort, in the background).
 */
import { encodeEvent, publishDurable, subjects, type Bus } from "@switchboard/bus";
import type { Component } from "@switchboard/lifecycle";
import type { Logger } from "@switchboard/log";
import type { Event } from "@switchboard/proto/events";
import type { PresenceMetrics, PublishKind } from "../metrics.js";
import type { PartnerDirectory } from "./partner-directory.js";
import type { StatusName, StatusRecord } from "./status-record.js";
import { statusChangeEvent, type UserWrite, type UserWriter } from "./user-writer.js";
import { mapLimit } from "../util/map-limit.js";

export interface StatusPublisher extends Component {
  /** After a write that changed the status. Never throws: a failed publish is retried by a sweep. */
  afterChange(userId: string, w: UserWrite): Promise<void>;
  /** Publishes a change whose writer never confirmed it (same event id), then confirms. */
  republish(userId: string, r: StatusRecord): Promise<void>;
}

const PARTNER_CONCURRENCY = 32;

export function createStatusPublisher(o: {
  bus: Bus;
  writer: UserWriter;
  partners?: PartnerDirectory;
  metrics: PresenceMetrics;
  log: Logger;
  publishTimeoutMs: number;
  /** An event unconfirmed this long is published again by a sweep. */
  republishAfterMs: number;
}): StatusPublisher {
  const background = new Set<Promise<void>>();
  const log = o.log.child({ part: "status-publisher" });

  async function publish(userId: string, ev: Event, kind: PublishKind): Promise<boolean> {
    try {
      await publishDurable(o.bus, subjects.userStatus(ev.broadcast?.userId || userId), encodeEvent(ev), { msgId: ev.id, timeoutMs: o.publishTimeoutMs });
      o.metrics.published(kind);
      return true;
    } catch (e: unknown) {
      o.metrics.publishFailed(kind);
      log.warn({ err: e, kind }, "status_change publish failed");
      return false;
    }
  }

  async function pushToPartners(userId: string, status: StatusName, primary: Event): Promise<void> {
    const partners = await o.partners!.partners(userId);
    if (!partners || partners.length === 0) return;
    const at = Number(primary.originTimeMs);
    await mapLimit(partners, PARTNER_CONCURRENCY, async (p) => {
      await publish(userId, statusChangeEvent(userId, status, at, p, primary.id), "partner");
    });
  }

  async function deliver(userId: string, status: StatusName, ev: Event, kind: PublishKind): Promise<boolean> {
    const ok = await publish(userId, ev, kind);
    if (ok && o.partners) {
      const task = pushToPartners(userId, status, ev).catch((e: unknown) => log.warn({ err: e }, "partner push failed"));
      background.add(task);
      void task.finally(() => background.delete(task));
    }
    return ok;
  }

  /** Clears pending_event if it is still ours; republishes the current status if a later change overtook us. */
  async function confirm(userId: string, eventId: string, published: StatusName): Promise<void> {
    let overtakenBy: StatusName | undefined;
    await o.writer.write(userId, (d) => {
      overtakenBy = undefined;
      if (d.pending_event === eventId) {
        d.pending_event = "";
        d.pending_since = 0;
      } else if (d.status !== published) {
        overtakenBy = d.status;
      }
    });
    if (overtakenBy) await deliver(userId, overtakenBy, statusChangeEvent(userId, overtakenBy, Date.now()), "correction");
  }

  async function publishAndConfirm(userId: string, status: StatusName, ev: Event, kind: PublishKind): Promise<void> {
    if (!(await deliver(userId, status, ev, kind))) return;
    try {
      await confirm(userId, ev.id, status);
    } catch (e: unknown) {
      // The event is out; an unconfirmed one is only published again (same id) by a sweep.
      log.warn({ err: e }, "status_change confirm failed");
    }
  }

  return {
    name: "status-publisher",
    async start() {},
    async stop() {
      while (background.size > 0) await Promise.allSettled([...background]);
    },
    async afterChange(userId, w) {
      if (w.event) await publishAndConfirm(userId, w.record.status, w.event, "status");
    },
    async republish(userId, r) {
      if (r.pending_event === "") return;
      // Every replica's sweep sees the same overdue event: one claims it by compare-and-set
      // (moving pending_since on), the others then find it not due and leave it.
      const claim = await o.writer.write(userId, (d, now) => {
        if (d.pending_event === r.pending_event && d.pending_since + o.republishAfterMs <= now) d.pending_since = now;
      });
      if (!claim.wrote) return;
      const status = claim.record.status;
      const ev = statusChangeEvent(userId, status, r.pending_since);
      ev.id = r.pending_event;
      await publishAndConfirm(userId, status, ev, "republish");
    },
  };
}
