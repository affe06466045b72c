import type { PostsService as PostsServiceDesc, SidebarCategory as SidebarCategoryMsg } from "@switchboard/proto/posts";
import { invalidArgument } from "@switchboard/model";
import type { ImplOf } from "@switchboard/rpc";
import type { SessionAuth } from "@switchboard/auth";
import type { SidebarCategory, SidebarService } from "../sidebar/sidebar-categories.js";
import { callOf } from "./call-of.js";

type Impl = ImplOf<typeof PostsServiceDesc>;

/** The methods of this file (the other handler files leave them out). */
export type SidebarMethods =
  "getSidebarCategories" | "updateSidebarCategoryOrder" | "createSidebarCategory" | "updateSidebarCategories" | "deleteSidebarCategory";

const toProto = (c: SidebarCategory) => ({
  id: c.id,
  userId: c.user_id,
  teamId: c.team_id,
  sortOrder: BigInt(c.sort_order),
  sorting: c.sorting,
  type: c.type,
  displayName: c.display_name,
  muted: c.muted,
  collapsed: c.collapsed,
  channelIds: c.channel_ids,
});

const fromProto = (c: SidebarCategoryMsg): SidebarCategory => ({
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
});

/** gRPC <-> domain for sidebar categories. */
export function sidebarHandlers(s: { readonly sidebar: SidebarService }, auth: SessionAuth): Pick<Impl, SidebarMethods> {
  return {
    async getSidebarCategories(req, ctx) {
      const r = await s.sidebar.getCategories(await callOf(auth, ctx), req.userId, req.teamId);
      return { categories: r.categories.map(toProto), order: r.order };
    },
    async updateSidebarCategoryOrder(req, ctx) {
      return { order: await s.sidebar.updateOrder(await callOf(auth, ctx), req.userId, req.teamId, req.order) };
    },
    async createSidebarCategory(req, ctx) {
      const c = req.category;
      if (!c) throw invalidArgument("api.context.invalid_body_param.app_error", "Invalid or missing category in request body.");
      return { category: toProto(await s.sidebar.createCategory(await callOf(auth, ctx), req.userId, req.teamId, fromProto(c))) };
    },
    async updateSidebarCategories(req, ctx) {
      const r = await s.sidebar.updateCategories(await callOf(auth, ctx), req.userId, req.teamId, req.categories.map(fromProto));
      return { categories: r.map(toProto) };
    },
    async deleteSidebarCategory(req, ctx) {
      await s.sidebar.deleteCategory(await callOf(auth, ctx), req.userId, req.teamId, req.categoryId);
      return {};
    },
  };
}
