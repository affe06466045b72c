/**
 * Each user's sidebar per team, as Mattermost keeps it (app/channel_category.go,
 * store/sqlstore/channel_store_categories.go): the default categories favorites (0), channels
 * (10) and direct_messages (20, sorted by recency) are created the first time the sidebar is
 * read; custom categories are added, renamed, reordered and deleted by the user. A channel sits
 * in one category; a channel of the user that no category lists (joined later, or its custom
 * category deleted) is shown in the default category for its type, so every new channel has
 * a place without a write per join. Changes reach the user's sessions as sidebar_category_*.
 */
import type { Queryable } from "@switchboard/db";
import { EventName } from "@switchboard/bus";
import { AppError, newId } from "@switchboard/model";
import type { Call, Deps } from "../deps.js";
import { denied } from "../errors.js";
import { requireOwnTeamState } from "../channels/read-state.js";
import { emit } from "../events/emit.js";
import { sidebarEvents } from "../events/event-builders.js";
import { callTx } from "../tx.js";

export interface SidebarCategory {
  id: string;
  user_id: string;
  team_id: string;
  sort_order: number;
  sorting: string;
  type: string;
  display_name: string;
  muted: boolean;
  collapsed: boolean;
  channel_ids: string[];
}

const SORT_DISTANCE = 10;
const SORTINGS = new Set(["", "manual", "recent", "alpha"]);
const DISPLAY_NAME_MAX = 64;
const COLUMNS = "id, user_id, team_id, sort_order, sorting, type, display_name, muted, collapsed";

const invalidCategory = (): AppError =>
  new AppError("invalid_argument", "Invalid or missing category in request body.", "api.context.invalid_body_param.app_error");

function defaults(userId: string, teamId: string): Omit<SidebarCategory, "channel_ids">[] {
  const c = (type: string, sortOrder: number, displayName: string, sorting: string) => ({
    id: `${type}_${userId}_${teamId}`,
    user_id: userId,
    team_id: teamId,
    sort_order: sortOrder,
    sorting,
    type,
    display_name: displayName,
    muted: false,
    collapsed: false,
  });
  return [
    c("favorites", 0, "Favorites", ""),
    c("channels", SORT_DISTANCE, "Channels", ""),
    c("direct_messages", 2 * SORT_DISTANCE, "Direct Messages", "recent"),
  ];
}

export function createSidebarService(d: Deps) {
  const { db } = d;

  const authorize = (call: Call, userId: string, teamId: string): Promise<string> => requireOwnTeamState(db, call, userId, teamId);

  /** Locks the user's categories of the team, creating the default ones first if there are none. */
  async function lockCategories(q: Queryable, userId: string, teamId: string): Promise<Omit<SidebarCategory, "channel_ids">[]> {
    const read = () =>
      q.query<Omit<SidebarCategory, "channel_ids">>(
        `SELECT ${COLUMNS} FROM sidebar_categories WHERE user_id = $1 AND team_id = $2 ORDER BY sort_order, id FOR UPDATE`,
        [userId, teamId],
      );
    let { rows } = await read();
    if (rows.length === 0) {
      for (const c of defaults(userId, teamId)) {
        await q.query(`INSERT INTO sidebar_categories (${COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) ON CONFLICT (id) DO NOTHING`, [
          c.id,
          c.user_id,
          c.team_id,
          c.sort_order,
          c.sorting,
          c.type,
          c.display_name,
          c.muted,
          c.collapsed,
        ]);
      }
      ({ rows } = await read());
    }
    return rows.map((r) => ({ ...r, sort_order: Number(r.sort_order) }));
  }

  /** The categories with their channels: listed ones the user still belongs to, then the unlisted ones in their default category. */
  async function withChannels(q: Queryable, userId: string, teamId: string, cats: Omit<SidebarCategory, "channel_ids">[]): Promise<SidebarCategory[]> {
    const mine = (
      await q.query<{ id: string; type: string }>(
        `SELECT c.id, c.type FROM channels c JOIN channel_members m ON m.channel_id = c.id
         WHERE m.user_id = $1 AND (c.team_id = $2 OR c.team_id = '') AND c.delete_at = 0 ORDER BY c.display_name, c.id`,
        [userId, teamId],
      )
    ).rows;
    const member = new Map(mine.map((c) => [c.id, c.type]));
    const listed = (
      await q.query<{ category_id: string; channel_id: string }>(
        `SELECT category_id, channel_id FROM sidebar_channels WHERE user_id = $1 AND category_id = ANY($2::text[]) ORDER BY sort_order, channel_id`,
        [userId, cats.map((c) => c.id)],
      )
    ).rows;
    const out = cats.map((c) => ({ ...c, channel_ids: [] as string[] }));
    const byId = new Map(out.map((c) => [c.id, c]));
    const placed = new Set<string>();
    for (const l of listed) {
      if (!member.has(l.channel_id) || placed.has(l.channel_id)) continue;
      byId.get(l.category_id)!.channel_ids.push(l.channel_id);
      placed.add(l.channel_id);
    }
    const channelsCat = out.find((c) => c.type === "channels");
    const dmCat = out.find((c) => c.type === "direct_messages");
    for (const [id, type] of member) {
      if (placed.has(id)) continue;
      (type === "D" || type === "G" ? dmCat : channelsCat)?.channel_ids.push(id);
    }
    return out;
  }

  /** Lists the channels of a category in the given order, taking them out of the user's other categories of the team. */
  async function placeChannels(
    q: Queryable,
    userId: string,
    teamCategoryIds: readonly string[],
    categoryId: string,
    channelIds: readonly string[],
  ): Promise<void> {
    await q.query("DELETE FROM sidebar_channels WHERE user_id = $1 AND category_id = ANY($2::text[]) AND (category_id = $3 OR channel_id = ANY($4::text[]))", [
      userId,
      teamCategoryIds,
      categoryId,
      channelIds,
    ]);
    for (const [i, channelId] of channelIds.entries()) {
      await q.query("INSERT INTO sidebar_channels (channel_id, user_id, category_id, sort_order) VALUES ($1,$2,$3,$4)", [
        channelId,
        userId,
        categoryId,
        i * SORT_DISTANCE,
      ]);
    }
  }

  /** Keeps only the user's own channels of the team (Mattermost's validateSidebarCategoryChannels). */
  async function ownChannels(q: Queryable, userId: string, teamId: string, ids: readonly string[]): Promise<string[]> {
    const { rows } = await q.query<{ id: string }>(
      `SELECT c.id FROM channels c JOIN channel_members m ON m.channel_id = c.id WHERE m.user_id = $1 AND (c.team_id = $2 OR c.team_id = '') AND c.id = ANY($3::text[])`,
      [userId, teamId, ids],
    );
    const ok = new Set(rows.map((r) => r.id));
    return [...new Set(ids)].filter((id) => ok.has(id));
  }

  async function commit<T>(call: Call, fn: (q: Queryable) => Promise<T>): Promise<T> {
    const out = await callTx(db, call.signal, fn);
    d.onCommit();
    return out;
  }

  async function getCategories(call: Call, userId: string, teamId: string): Promise<{ categories: SidebarCategory[]; order: string[] }> {
    const uid = await authorize(call, userId, teamId);
    return commit(call, async (q) => {
      const cats = await withChannels(q, uid, teamId, await lockCategories(q, uid, teamId));
      return { categories: cats, order: cats.map((c) => c.id) };
    });
  }

  async function updateOrder(call: Call, userId: string, teamId: string, order: readonly string[]): Promise<string[]> {
    const uid = await authorize(call, userId, teamId);
    return commit(call, async (q) => {
      const cats = await lockCategories(q, uid, teamId);
      const known = new Set(cats.map((c) => c.id));
      if (new Set(order).size !== order.length || order.length !== cats.length || !order.every((id) => known.has(id))) throw invalidCategory();
      for (const [i, id] of order.entries()) await q.query("UPDATE sidebar_categories SET sort_order = $2 WHERE id = $1", [id, i * SORT_DISTANCE]);
      await emit(q, sidebarEvents(EventName.SidebarCategoryOrderUpdated, uid, teamId, { order }, Date.now()));
      return [...order];
    });
  }

  function checkFields(c: Partial<SidebarCategory>): void {
    if (c.sorting !== undefined && !SORTINGS.has(c.sorting)) throw invalidCategory();
    if (c.display_name !== undefined && (c.display_name.trim() === "" || [...c.display_name].length > DISPLAY_NAME_MAX)) throw invalidCategory();
  }

  async function createCategory(call: Call, userId: string, teamId: string, c: SidebarCategory): Promise<SidebarCategory> {
    const uid = await authorize(call, userId, teamId);
    if (c.user_id !== uid || c.team_id !== teamId) throw invalidCategory();
    checkFields(c);
    if (c.display_name.trim() === "") throw invalidCategory();
    return commit(call, async (q) => {
      const cats = await lockCategories(q, uid, teamId);
      const id = newId();
      // New custom categories go on top, the others keep their order after it.
      const order = [id, ...cats.map((x) => x.id)];
      await q.query(`INSERT INTO sidebar_categories (${COLUMNS}) VALUES ($1,$2,$3,0,$4,'custom',$5,$6,$7)`, [
        id,
        uid,
        teamId,
        c.sorting,
        c.display_name.trim(),
        c.muted,
        c.collapsed,
      ]);
      for (const [i, cid] of order.entries()) await q.query("UPDATE sidebar_categories SET sort_order = $2 WHERE id = $1", [cid, i * SORT_DISTANCE]);
      await placeChannels(q, uid, order, id, await ownChannels(q, uid, teamId, c.channel_ids));
      await emit(q, sidebarEvents(EventName.SidebarCategoryCreated, uid, teamId, { category_id: id }, Date.now()));
      const all = await withChannels(q, uid, teamId, await lockCategories(q, uid, teamId));
      return all.find((x) => x.id === id)!;
    });
  }

  async function updateCategories(call: Call, userId: string, teamId: string, updates: readonly SidebarCategory[]): Promise<SidebarCategory[]> {
    const uid = await authorize(call, userId, teamId);
    for (const u of updates) checkFields(u);
    return commit(call, async (q) => {
      const cats = await lockCategories(q, uid, teamId);
      const byId = new Map(cats.map((c) => [c.id, c]));
      // Mattermost's SessionHasPermissionToCategory: every category must be the user's, of this team.
      if (updates.length === 0 || updates.some((u) => !byId.has(u.id))) throw invalidCategory();
      const ids = cats.map((c) => c.id);
      for (const u of updates) {
        const cur = byId.get(u.id)!;
        // Only custom categories are renamed; favorites never sorts by recency (Mattermost's UpdateSidebarCategories).
        const displayName = cur.type === "custom" ? u.display_name.trim() : cur.display_name;
        await q.query("UPDATE sidebar_categories SET sorting = $2, display_name = $3, muted = $4, collapsed = $5 WHERE id = $1", [
          u.id,
          u.sorting,
          displayName,
          u.muted,
          u.collapsed,
        ]);
        await placeChannels(q, uid, ids, u.id, await ownChannels(q, uid, teamId, u.channel_ids));
      }
      const all = await withChannels(q, uid, teamId, await lockCategories(q, uid, teamId));
      const updated = all.filter((c) => updates.some((u) => u.id === c.id));
      await emit(q, sidebarEvents(EventName.SidebarCategoryUpdated, uid, teamId, { updatedCategories: JSON.stringify(updated) }, Date.now()));
      return updated;
    });
  }

  async function deleteCategory(call: Call, userId: string, teamId: string, categoryId: string): Promise<void> {
    const uid = await authorize(call, userId, teamId);
    await commit(call, async (q) => {
      const cats = await lockCategories(q, uid, teamId);
      const cat = cats.find((c) => c.id === categoryId);
      if (!cat) throw denied();
      if (cat.type !== "custom") throw new AppError("invalid_argument", "Only custom categories can be deleted.", "app.channel.sidebar_categories.app_error");
      await q.query("DELETE FROM sidebar_categories WHERE id = $1", [categoryId]);
      await emit(q, sidebarEvents(EventName.SidebarCategoryDeleted, uid, teamId, { category_id: categoryId }, Date.now()));
    });
  }

  return { getCategories, updateOrder, createCategory, updateCategories, deleteCategory };
}

export type SidebarService = ReturnType<typeof createSidebarService>;
