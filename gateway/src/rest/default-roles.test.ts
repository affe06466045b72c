import { describe, expect, it } from "vitest";
import { defaultRole, knownPermissions } from "./default-roles.js";

const NAMES = ["system_user", "system_admin", "system_guest", "team_user", "team_admin", "team_guest", "channel_user", "channel_admin", "channel_guest"];

describe("default roles", () => {
  it("every role the webapp asks for at boot exists, with only permissions the 11.9 webapp knows", () => {
    const known = new Set(knownPermissions);
    for (const n of NAMES) {
      const r = defaultRole(n);
      expect(r, n).toBeDefined();
      expect(
        r!.permissions.filter((p) => !known.has(p)),
        n,
      ).toEqual([]);
    }
  });

  it("gives members what the post box and menus need", () => {
    expect(defaultRole("channel_user")!.permissions).toEqual(
      expect.arrayContaining(["create_post", "read_channel", "add_reaction", "edit_post", "delete_post"]),
    );
    expect(defaultRole("team_user")!.permissions).toEqual(expect.arrayContaining(["view_team", "create_public_channel", "join_public_channels"]));
    expect(defaultRole("system_user")!.permissions).toEqual(expect.arrayContaining(["create_direct_channel", "create_team", "list_public_teams"]));
    expect(defaultRole("system_admin")!.permissions).toEqual(expect.arrayContaining(["manage_system", "create_post"]));
    expect(defaultRole("nobody")).toBeUndefined();
  });
});
