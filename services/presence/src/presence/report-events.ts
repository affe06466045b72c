/**
 * A gateway report's events, checked all at once before anything changes (a report with one
 * bad event is refused whole), then grouped per user in their original order.
 */
import { isValidId } from "@switchboard/model";
import type { ConnectionEvent } from "@switchboard/proto/presence";
import { badParam } from "../errors.js";
import type { AddressEvent } from "./ip-writer.js";

const MAX_EVENTS_PER_REPORT = 10_000;
const CONNECTION_ID = /^[A-Za-z0-9_-]{1,64}$/;

const CLIENT_IP = /^[\x21-\x7e]{0,64}$/;

export type UserEvent =
  | { readonly kind: "opened"; readonly connectionId: string; readonly at: number; readonly clientIp: string }
  | { readonly kind: "closed"; readonly connectionId: string; readonly at: number; readonly clientIp: string }
  | { readonly kind: "activity"; readonly at: number; readonly active: boolean; readonly manual: boolean };

/**
 * Validates and groups; `at` is clamped to [now - maxAgeMs, now] (0 = now), so a gateway's
 * clock can neither schedule the future nor rewrite the distant past.
 */
export function groupReportEvents(events: readonly ConnectionEvent[], now: number, maxAgeMs: number): Map<string, UserEvent[]> {
  if (events.length > MAX_EVENTS_PER_REPORT) throw badParam("events", `At most ${MAX_EVENTS_PER_REPORT} events per report.`);
  const clamp = (at: bigint): number => (at <= 0n ? now : Math.max(now - maxAgeMs, Math.min(now, Number(at))));
  const byUser = new Map<string, UserEvent[]>();
  const add = (userId: string, e: UserEvent): void => {
    let list = byUser.get(userId);
    if (!list) byUser.set(userId, (list = []));
    list.push(e);
  };
  for (let i = 0; i < events.length; i++) {
    const k = events[i]!.kind;
    const where = `events[${i}]`;
    switch (k.case) {
      case "opened":
      case "closed": {
        if (!isValidId(k.value.userId)) throw badParam(`${where}.${k.case}.user_id`);
        if (!CONNECTION_ID.test(k.value.connectionId)) throw badParam(`${where}.${k.case}.connection_id`, "1 to 64 characters of [A-Za-z0-9_-].");
        if (!CLIENT_IP.test(k.value.clientIp)) throw badParam(`${where}.${k.case}.client_ip`, "At most 64 printable ASCII characters.");
        add(k.value.userId, { kind: k.case, connectionId: k.value.connectionId, at: clamp(k.value.at), clientIp: k.value.clientIp });
        break;
      }
      case "activity":
        if (!isValidId(k.value.userId)) throw badParam(`${where}.activity.user_id`);
        add(k.value.userId, { kind: "activity", at: clamp(k.value.at), active: k.value.active, manual: k.value.manual });
        break;
      default:
        throw badParam(`${where}`, "An event must be opened, closed or activity.");
    }
  }
  return byUser;
}

/** The opened and closed events that carry a client address, per address in report order (after groupReportEvents checked them). */
export function groupByAddress(events: readonly ConnectionEvent[]): Map<string, AddressEvent[]> {
  const byIp = new Map<string, AddressEvent[]>();
  for (const e of events) {
    const k = e.kind;
    if ((k.case !== "opened" && k.case !== "closed") || k.value.clientIp === "") continue;
    let list = byIp.get(k.value.clientIp);
    if (!list) byIp.set(k.value.clientIp, (list = []));
    list.push({ kind: k.case, connectionId: k.value.connectionId });
  }
  return byIp;
}
