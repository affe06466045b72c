/**
 * The webapp's sidebar through the stock Client4 (getChannelCategories, createChannelCategory,
 * updateChannelCategories, updateChannelCategoryOrder, deleteChannelCategory): Mattermost's
 * default categories on first read, new channels placed in them, custom categories; each
 * answer compared with its golden fixture; sidebar_category_* reach the user's other session
 * and nobody else; refused calls answer as Mattermost does and write nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "@switchboard/testkit";
import { connect, newUser, type Recorder, type TestUser, type WsMessage } from "./support.js";
import { expectGolden, expectRefusedUnchanged, rest } from "./webapp-support.js";

let stack: Stack;
let url: string;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let teamId: string;
let chId: string;
let dmId: string;
let bob2: Recorder;
let aliceWs: Recorder;
let carolWs: Recorder;

interface Category {
  id: string;
  type: string;
  display_name: string;
  channel_ids: string[];
}
interface Categories {
  categories: Category[];
  order: string[];
}

const sidebarEvents = (r: Recorder): WsMessage[] => r.events.filter((e) => e.event?.startsWith("sidebar_category_"));
const path = (userId = "me") => `/api/v4/users/${userId}/teams/${teamId}/channels/categories`;

beforeAll(async () => {
  stack = await startStack();
  url = stack.gatewayUrls[0]!;
  // One after another: the first user of a server is its system admin (alice here).
  alice = await newUser(url, "alice");
  bob = await newUser(url, "bob");
  carol = await newUser(url, "carol");
  const team = await alice.client.createTeam({ name: `team${Date.now()}`, display_name: "Team", type: "O" } as never);
  teamId = team.id;
  await alice.client.addToTeam(teamId, bob.id);
  chId = (await alice.client.createChannel({ team_id: teamId, name: `side${Date.now()}`, display_name: "Side", type: "O" } as never)).id;
  await alice.client.addToChannel(bob.id, chId);
  dmId = (await alice.client.createDirectChannel([alice.id, bob.id])).id;
  [bob2, aliceWs, carolWs] = await Promise.all([connect(url, bob.token), connect(url, alice.token), connect(url, carol.token)]);
});

afterAll(async () => {
  for (const r of [bob2, aliceWs, carolWs]) r?.close();
  await stack?.stop();
});

describe("sidebar categories as the webapp keeps them", () => {
  it("creates Mattermost's default categories on first read and places channels, new ones too", async () => {
    const first = await rest(url, bob.token, "GET", path());
    expectGolden("sidebar/categories.json", first);
    const cats = first.body as Categories;
    const suffix = `${bob.id}_${teamId}`;
    expect(cats.order).toEqual([`favorites_${suffix}`, `channels_${suffix}`, `direct_messages_${suffix}`]);
    expect(cats.categories.map((c) => [c.type, c.display_name])).toEqual([
      ["favorites", "Favorites"],
      ["channels", "Channels"],
      ["direct_messages", "Direct Messages"],
    ]);
    expect(cats.categories[1]!.channel_ids).toContain(chId);
    expect(cats.categories[2]!.channel_ids).toEqual([dmId]);

    const ch2 = await alice.client.createChannel({ team_id: teamId, name: `later${Date.now()}`, display_name: "Later", type: "O" } as never);
    await alice.client.addToChannel(bob.id, ch2.id);
    const again = await bob.client.getChannelCategories(bob.id, teamId);
    expect(again.categories.find((c) => c.type === "channels")!.channel_ids).toContain(ch2.id);
    expectGolden("sidebar/order.json", await rest(url, bob.token, "GET", `${path()}/order`));
  });

  it("creates, updates, reorders and deletes categories, telling only the user's sessions", async () => {
    const from = bob2.events.length;
    const created = await rest(url, bob.token, "POST", path(), { user_id: bob.id, team_id: teamId, display_name: "Work", channel_ids: [chId], type: "custom" });
    expectGolden("sidebar/category.json", created);
    const work = created.body as Category;
    expect(work).toMatchObject({ type: "custom", display_name: "Work", channel_ids: [chId] });
    expect((await bob2.next((m) => m.event === "sidebar_category_created", { from })).data).toEqual({ category_id: work.id });
    const afterCreate = await bob.client.getChannelCategories(bob.id, teamId);
    expect(afterCreate.order[0]).toBe(work.id);
    expect(afterCreate.categories.find((c) => c.type === "channels")!.channel_ids).not.toContain(chId);

    const reversed = [...afterCreate.order].reverse();
    const ordered = await rest(url, bob.token, "PUT", `${path()}/order`, reversed);
    expectGolden("sidebar/order.json", ordered);
    expect(ordered.body).toEqual(reversed);
    expect((await bob2.next((m) => m.event === "sidebar_category_order_updated", { from })).data).toEqual({ order: reversed });
    expect(await bob.client.getChannelCategoryOrder(bob.id, teamId)).toEqual(reversed);

    const favorites = afterCreate.categories.find((c) => c.type === "favorites")!;
    const updated = await rest(url, bob.token, "PUT", path(), [{ ...favorites, channel_ids: [chId] }]);
    expectGolden("sidebar/categories-updated.json", updated);
    expect((updated.body as Category[])[0]).toMatchObject({ id: favorites.id, channel_ids: [chId] });
    const upd = await bob2.next((m) => m.event === "sidebar_category_updated", { from });
    expect((JSON.parse(String(upd.data?.updatedCategories)) as Category[]).map((c) => [c.id, c.channel_ids])).toEqual([[favorites.id, [chId]]]);
    expect(upd.broadcast).toMatchObject({ user_id: bob.id, team_id: teamId });
    const afterMove = await bob.client.getChannelCategories(bob.id, teamId);
    expect(afterMove.categories.find((c) => c.id === work.id)!.channel_ids).toEqual([]);

    expectGolden("sidebar/delete.json", await rest(url, bob.token, "DELETE", `${path()}/${work.id}`));
    expect((await bob2.next((m) => m.event === "sidebar_category_deleted", { from })).data).toEqual({ category_id: work.id });
    expect((await bob.client.getChannelCategories(bob.id, teamId)).order).not.toContain(work.id);

    // alice and carol share this gateway: the hub has already decided about them.
    expect(sidebarEvents(aliceWs)).toEqual([]);
    expect(sidebarEvents(carolWs)).toEqual([]);
    expect(sidebarEvents(bob2).map((e) => e.event)).toEqual([
      "sidebar_category_created",
      "sidebar_category_order_updated",
      "sidebar_category_updated",
      "sidebar_category_deleted",
    ]);
  });

  it("refuses bad input as Mattermost does and writes nothing", async () => {
    const mine = await bob.client.getChannelCategories(bob.id, teamId);
    const aliceCats = await alice.client.getChannelCategories(alice.id, teamId);
    const favorites = mine.categories.find((c) => c.type === "favorites")!;
    const cases: [string, () => ReturnType<typeof rest>][] = [
      ["sidebar/forbidden.json", () => rest(url, carol.token, "GET", path(bob.id))],
      ["sidebar/forbidden.json", () => rest(url, carol.token, "GET", path())],
      ["sidebar/forbidden.json", () => rest(url, bob.token, "PUT", path(alice.id), [aliceCats.categories[0]])],
      ["sidebar/forbidden.json", () => rest(url, bob.token, "GET", `${path()}/${aliceCats.categories[0]!.id}`)],
      ["sidebar/forbidden.json", () => rest(url, bob.token, "DELETE", `${path()}/zzzzzzzzzzzzzzzzzzzzzzzzzz`)],
      ["sidebar/invalid-category.json", () => rest(url, bob.token, "PUT", path(), [aliceCats.categories[0]])],
      ["sidebar/invalid-category.json", () => rest(url, bob.token, "PUT", path(), "{not json")],
      ["sidebar/invalid-category.json", () => rest(url, bob.token, "PUT", path(), [{ ...favorites, muted: "yes" }])],
      ["sidebar/invalid-category.json", () => rest(url, bob.token, "PUT", `${path()}/order`, [...mine.order, "zzzzzzzzzzzzzzzzzzzzzzzzzz"])],
      ["sidebar/invalid-category.json", () => rest(url, bob.token, "PUT", `${path()}/order`, mine.order.slice(1))],
      ["sidebar/invalid-category.json", () => rest(url, bob.token, "POST", path(), { user_id: alice.id, team_id: teamId, display_name: "X" })],
      ["sidebar/invalid-category.json", () => rest(url, bob.token, "POST", path(), { user_id: bob.id, team_id: teamId, display_name: "" })],
      ["sidebar/delete-default.json", () => rest(url, bob.token, "DELETE", `${path()}/${favorites.id}`)],
    ];
    for (const [golden, call] of cases) await expectRefusedUnchanged(stack, golden, call);
  });
});
