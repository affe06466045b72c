/** Mattermost's Preference.IsValid and PreUpdate (model/preference.go). */
import { AppError, isValidId } from "@switchboard/model";
import type { PreferenceRow } from "./preference-store.js";

const MAX_VALUE_RUNES = 20000;
const MAX_VISIBLE_DMS_GMS = 40;
const COLOR = /^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$/;

function invalid(what: string, detail: string): AppError {
  return new AppError("invalid_argument", `Invalid preference ${what}.`, `model.preference.is_valid.${what}.app_error`, { cause: detail });
}

function themeObject(value: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(value);
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function validatePreference(p: PreferenceRow): void {
  if (!isValidId(p.user_id)) throw invalid("id", "user_id");
  if (p.category === "" || p.category.length > 32) throw invalid("category", "category");
  if (p.name.length > 32) throw invalid("name", "name");
  if ([...p.value].length > MAX_VALUE_RUNES) throw invalid("value", "value");
  if (p.category === "theme") {
    const t = themeObject(p.value);
    if (!t || !Object.values(t).every((v) => typeof v === "string")) throw invalid("theme", "value");
  }
  if (p.category === "sidebar_settings" && p.name === "limit_visible_dms_gms") {
    const n = /^-?\d+$/.test(p.value) ? Number(p.value) : NaN;
    if (!(n >= 1 && n <= MAX_VISIBLE_DMS_GMS)) throw invalid("limit_visible_dms_gms", "value");
  }
}

/** PreUpdate: a theme's colours that are not #rgb or #rrggbb become #ffffff. */
export function preUpdate(p: PreferenceRow): PreferenceRow {
  if (p.category !== "theme") return p;
  const t = themeObject(p.value) as Record<string, string>;
  for (const [k, v] of Object.entries(t)) if (k !== "image" && k !== "type" && k !== "codeTheme" && !COLOR.test(v)) t[k] = "#ffffff";
  return { ...p, value: JSON.stringify(t) };
}
