import type { SidebarCategory } from "@switchboard/proto/posts";
import { AppError } from "@switchboard/model";
import { idParam, invalidBody, invalidUrlParam, userParam } from "./body.js";
import type { RestDeps } from "./rest-deps.js";
import type { RestRequest } from "./rest-types.js";
import { ok, statusOk, type RouteSpec } from "./rest-types.js";

type CategoryInit = Omit<SidebarCategory, "$typeName" | "$unknown">;

/** Mattermost's category ids: an id, or {type}_{user id}_{team id} for the defaults (model.IsValidCategoryId). */
const CATEGORY_ID = /^([a-z0-9]{26}|(favorites|channels|direct_messages)_[a-z0-9]{26}_[a-z0-9]{26})$/;

/** Mattermost's SidebarCategoryWithChannels JSON (model/channel_sidebar.go). */
function categoryJson(c: SidebarCategory): Record<string, unknown> {
  return {
    id: c.id,
    user_id: c.userId,
    team_id: c.teamId,
    sort_order: Number(c.sortOrder),
    sorting: c.sorting,
    type: c.type,
    display_name: c.displayName,
    muted: c.muted,
    collapsed: c.collapsed,
    channel_ids: [...c.channelIds],
  };
}

function parse(req: RestRequest): unknown {
  try {
    return JSON.parse(req.body.toString("utf8"));
  } catch {
    throw invalidBody("category");
  }
}

/** A category of a request body, read as Go's json.Decode would (wrong types refused). */
function categoryOf(v: unknown): CategoryInit {
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw invalidBody("category");
  const o = v as Record<string, unknown>;
  const s = (k: string): string => {
    const x = o[k];
    if (x === undefined || x === null) return "";
    if (typeof x !== "string") throw invalidBody("category");
    return x;
  };
  const b = (k: string): boolean => {
    const x = o[k];
    if (x === undefined || x === null) return false;
    if (typeof x !== "boolean") throw invalidBody("category");
    return x;
  };
  const ids = o.channel_ids ?? [];
  if (!Array.isArray(ids) || !ids.every((x) => typeof x === "string")) throw invalidBody("category");
  const sortOrder = o.sort_order ?? 0;
  if (typeof sortOrder !== "number" || !Number.isInteger(sortOrder)) throw invalidBody("category");
  return {
    id: s("id"),
    userId: s("user_id"),
    teamId: s("team_id"),
    sortOrder: BigInt(sortOrder),
    sorting: s("sorting"),
    type: s("type"),
    displayName: s("display_name"),
    muted: b("muted"),
    collapsed: b("collapsed"),
    channelIds: ids,
  };
}

function categoryParam(req: RestRequest): string {
  const v = req.params.category_id ?? "";
  if (!CATEGORY_ID.test(v)) throw invalidUrlParam("category_id");
  return v;
}

/** The user's sidebar categories of a team (api4/channel_category.go). */
export function sidebarRoutes(d: RestDeps): RouteSpec[] {
  const opts = (token: string) => ({ token, deadlineMs: d.deadlineMs });
  const base = "/api/v4/users/:user_id/teams/:team_id/channels/categories";
  const ids = async (req: RestRequest) => {
    const c = await d.auth.caller(req);
    return { c, userId: userParam(req, c.actor.userId), teamId: idParam(req, "team_id") };
  };
  /** One category of the user's, or 403 (Mattermost's SessionHasPermissionToCategory). */
  const one = async (req: RestRequest) => {
    const { c, userId, teamId } = await ids(req);
    const categoryId = categoryParam(req);
    const r = await d.posts.getSidebarCategories({ userId, teamId }, opts(c.token));
    const found = r.categories.find((x) => x.id === categoryId);
    if (!found) throw new AppError("permission_denied", "You do not have the appropriate permissions.", "api.context.permissions.app_error");
    return { c, userId, teamId, found };
  };
  return [
    {
      method: "get",
      pattern: base,
      async handler(req) {
        const { c, userId, teamId } = await ids(req);
        const r = await d.posts.getSidebarCategories({ userId, teamId }, opts(c.token));
        return ok({ categories: r.categories.map(categoryJson), order: r.order });
      },
    },
    {
      method: "post",
      pattern: base,
      async handler(req) {
        const { c, userId, teamId } = await ids(req);
        const category = categoryOf(parse(req));
        const r = await d.posts.createSidebarCategory({ userId, teamId, category }, opts(c.token));
        return ok(categoryJson(r.category!));
      },
    },
    {
      method: "put",
      pattern: base,
      async handler(req) {
        const { c, userId, teamId } = await ids(req);
        const body = parse(req);
        if (!Array.isArray(body)) throw invalidBody("category");
        const r = await d.posts.updateSidebarCategories({ userId, teamId, categories: body.map(categoryOf) }, opts(c.token));
        return ok(r.categories.map(categoryJson));
      },
    },
    {
      method: "get",
      pattern: `${base}/order`,
      async handler(req) {
        const { c, userId, teamId } = await ids(req);
        return ok((await d.posts.getSidebarCategories({ userId, teamId }, opts(c.token))).order);
      },
    },
    {
      method: "put",
      pattern: `${base}/order`,
      async handler(req) {
        const { c, userId, teamId } = await ids(req);
        const body = parse(req);
        if (!Array.isArray(body) || !body.every((x) => typeof x === "string")) throw invalidBody("category");
        return ok((await d.posts.updateSidebarCategoryOrder({ userId, teamId, order: body }, opts(c.token))).order);
      },
    },
    {
      method: "get",
      pattern: `${base}/:category_id`,
      async handler(req) {
        return ok(categoryJson((await one(req)).found));
      },
    },
    {
      method: "put",
      pattern: `${base}/:category_id`,
      async handler(req) {
        const { c, userId, teamId, found } = await one(req);
        const category = categoryOf(parse(req));
        if (category.userId !== userId || category.teamId !== teamId) throw invalidBody("category");
        const r = await d.posts.updateSidebarCategories({ userId, teamId, categories: [{ ...category, id: found.id }] }, opts(c.token));
        return ok(categoryJson(r.categories[0]!));
      },
    },
    {
      method: "del",
      pattern: `${base}/:category_id`,
      async handler(req) {
        const { c, userId, teamId } = await ids(req);
        await d.posts.deleteSidebarCategory({ userId, teamId, categoryId: categoryParam(req) }, opts(c.token));
        return statusOk();
      },
    },
  ];
}
