/**
 * Preferences (app/preference.go): read, save, delete. Each write and its event to the
 * user's own connections commit together (the outbox), so a saved preference is always
 * announced and an announced one was saved.
 */
import type { Db, Queryable } from "@switchboard/db";
import { AppError, invalidArgument, isValidId, notFound, permissionDenied } from "@switchboard/model";
import { writeOutbox } from "@switchboard/outbox";
import type { Actor } from "@switchboard/tokens";
import { preferencesEvent } from "../events/account-events.js";
import { SCHEMA } from "../migrations.js";
import { deletePreferences, preferencesOf, upsertPreferences, type PreferenceRow } from "./preference-store.js";
import { preUpdate, validatePreference } from "./preference-validation.js";

/** At most this many preferences in one call (Mattermost has no limit; a bound is kept here). */
const MAX_PER_CALL = 1000;

export interface PreferencesOptions {
  readonly db: Db;
  /** Wakes the outbox relay after a commit. */
  readonly onCommit: () => void;
}

function checkUser(actor: Actor, userId: string): void {
  if (!isValidId(userId)) throw invalidArgument("api.context.invalid_url_param.app_error", "Invalid or missing user_id parameter in request URL.");
  // SessionHasPermissionToUser: the user themself, or whoever may edit other users.
  if (userId !== actor.userId && !actor.isSystemAdmin) {
    throw permissionDenied("api.context.permissions.app_error", "You do not have the appropriate permissions.");
  }
}

function checkCount(prefs: readonly PreferenceRow[]): void {
  if (prefs.length > MAX_PER_CALL) throw invalidArgument("api.context.invalid_body_param.app_error", "Invalid or missing preferences in request body.");
}

export function createPreferences(o: PreferencesOptions) {
  const { db } = o;

  /** Locks the user's row: their events are written in commit order, and the user exists. */
  async function lockUser(q: Queryable, userId: string): Promise<void> {
    const r = await q.query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", [userId]);
    if (r.rows.length === 0) throw notFound("app.user.missing_account.const", "Unable to find the user.");
  }

  async function get(actor: Actor, userId: string, category: string, name: string): Promise<PreferenceRow[]> {
    checkUser(actor, userId);
    const rows = await preferencesOf(db, userId, category, name);
    if (category !== "" && name === "" && rows.length === 0) {
      throw new AppError("not_found", "No preferences found for this category.", "api.preference.preferences_category.get.app_error");
    }
    if (category !== "" && name !== "" && rows.length === 0) {
      throw invalidArgument("app.preference.get.app_error", "Unable to find the preference.");
    }
    return rows;
  }

  async function save(actor: Actor, userId: string, prefs: readonly PreferenceRow[]): Promise<void> {
    checkUser(actor, userId);
    checkCount(prefs);
    for (const p of prefs) {
      if (p.user_id !== userId) {
        throw permissionDenied("api.preference.update_preferences.set.app_error", "Unable to set user preferences.");
      }
    }
    prefs.forEach(validatePreference);
    const rows = prefs.map(preUpdate);
    await db.tx(async (q) => {
      await lockUser(q, userId);
      await upsertPreferences(q, rows);
      // As Mattermost: the saved list is built by appending, so an empty save announces null.
      await writeOutbox(q, SCHEMA, [preferencesEvent("changed", userId, rows.length > 0 ? rows : null)]);
    });
    o.onCommit();
  }

  async function remove(actor: Actor, userId: string, prefs: readonly PreferenceRow[]): Promise<void> {
    checkUser(actor, userId);
    checkCount(prefs);
    for (const p of prefs) {
      if (p.user_id !== userId) {
        throw permissionDenied("api.preference.delete_preferences.delete.app_error", "Unable to delete user preferences.");
      }
    }
    await db.tx(async (q) => {
      await lockUser(q, userId);
      await deletePreferences(q, userId, prefs);
      await writeOutbox(q, SCHEMA, [preferencesEvent("deleted", userId, prefs)]);
    });
    o.onCommit();
  }

  return { get, save, remove };
}

export type Preferences = ReturnType<typeof createPreferences>;
