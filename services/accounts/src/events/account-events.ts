/**
 * The events accounts publishes to one user's own connections, as outbox entries written in
 * the transaction of the change. Every such event leaves through this module, on accounts'
 * own subject family (`sb.acct.user.<id>`, `subjects.accountsUser`): accounts may publish
 * nothing else there, and the gateway takes only account events from it.
 */
import { EventName, subjects } from "@switchboard/bus";
import { newEvent } from "@switchboard/model";
import type { OutboxEntry } from "@switchboard/outbox";
import type { PreferenceRow } from "../preferences/preference-store.js";

function userEvent(userId: string, event: string, data: Record<string, unknown>): OutboxEntry {
  return { subject: subjects.accountsUser(userId), partitionKey: userId, event: newEvent({ event, data, broadcast: { userId } }) };
}

/**
 * `preferences_changed` / `preferences_deleted` (app/preference.go UpdatePreferences,
 * DeletePreferences): `preferences` is the list as a JSON string, Mattermost's own encoding.
 */
export function preferencesEvent(kind: "changed" | "deleted", userId: string, prefs: readonly PreferenceRow[] | null): OutboxEntry {
  const list = prefs === null ? null : prefs.map((p) => ({ user_id: p.user_id, category: p.category, name: p.name, value: p.value }));
  return userEvent(userId, kind === "changed" ? EventName.PreferencesChanged : EventName.PreferencesDeleted, { preferences: JSON.stringify(list) });
}
