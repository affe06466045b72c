import type { Queryable } from "@switchboard/db";

export interface PreferenceRow {
  user_id: string;
  category: string;
  name: string;
  value: string;
}

/** A user's preferences: all, one category, or one (category, name), in key order. */
export async function preferencesOf(q: Queryable, userId: string, category: string, name: string): Promise<PreferenceRow[]> {
  const r = await q.query<PreferenceRow>(
    `SELECT user_id, category, name, value FROM preferences
      WHERE user_id = $1 AND ($2 = '' OR category = $2) AND ($3 = '' OR name = $3)
      ORDER BY category, name`,
    [userId, category, name],
  );
  return r.rows;
}

/** Inserts or replaces the rows (one statement). */
export async function upsertPreferences(q: Queryable, rows: readonly PreferenceRow[]): Promise<void> {
  if (rows.length === 0) return;
  await q.query(
    `INSERT INTO preferences (user_id, category, name, value)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
     ON CONFLICT (user_id, category, name) DO UPDATE SET value = EXCLUDED.value`,
    [rows.map((r) => r.user_id), rows.map((r) => r.category), rows.map((r) => r.name), rows.map((r) => r.value)],
  );
}

/** Deletes the rows by key (one statement); returns how many existed. */
export async function deletePreferences(q: Queryable, userId: string, keys: readonly { category: string; name: string }[]): Promise<number> {
  if (keys.length === 0) return 0;
  const r = await q.query(
    `DELETE FROM preferences p USING unnest($2::text[], $3::text[]) AS k(category, name)
      WHERE p.user_id = $1 AND p.category = k.category AND p.name = k.name`,
    [userId, keys.map((k) => k.category), keys.map((k) => k.name)],
  );
  return r.rowCount;
}
