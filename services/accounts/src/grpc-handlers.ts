import { type AccountsService as AccountsServiceDesc } from "@switchboard/proto/accounts";
import { parseJsonObject } from "@switchboard/model";
import type { ImplOf } from "@switchboard/rpc";
import type { AccountsService } from "./accounts-service.js";
import type { LocalAuth } from "./auth.js";
import type { Preferences } from "./preferences/preferences-service.js";
import type { PreferenceRow } from "./preferences/preference-store.js";
import { sessionToProto } from "./sessions/session-store.js";
import { userToProto } from "./users/user-store.js";

/** gRPC <-> domain mapping; every call but CreateUser, Login and the key/revocation feeds needs a session. */
const toRow = (p: { userId: string; category: string; name: string; value: string }): PreferenceRow => ({
  user_id: p.userId,
  category: p.category,
  name: p.name,
  value: p.value,
});

export function accountsHandlers(svc: AccountsService, prefs: Preferences, auth: LocalAuth): ImplOf<typeof AccountsServiceDesc> {
  return {
    async createUser(req, ctx) {
      const actor = await auth.optionalActor(ctx);
      const user = await svc.createUser(actor, {
        username: req.username,
        email: req.email,
        password: req.password,
        nickname: req.nickname,
        firstName: req.firstName,
        lastName: req.lastName,
        locale: req.locale,
        props: parseJsonObject(req.propsJson),
      });
      return { user: userToProto(user) };
    },
    async getUser(req, ctx) {
      await auth.actor(ctx);
      return { user: userToProto(await svc.getUser(req.userId)) };
    },
    async getUsers(req, ctx) {
      await auth.actor(ctx);
      return { users: (await svc.getUsers(req.userIds)).map(userToProto) };
    },
    async getUserByUsername(req, ctx) {
      await auth.actor(ctx);
      return { user: userToProto(await svc.getUserByUsername(req.username)) };
    },
    async getUsersByUsernames(req, ctx) {
      await auth.actor(ctx);
      return { users: (await svc.getUsersByUsernames(req.usernames)).map(userToProto) };
    },
    async login(req) {
      const r = await svc.login(req.loginId, req.password, req.deviceId, req.clientIp);
      return { user: userToProto(r.user), session: sessionToProto(r.session), token: r.token };
    },
    async getSession(req, ctx) {
      return { session: sessionToProto(await svc.getSession(await auth.actor(ctx), req.sessionId)) };
    },
    async revokeSession(req, ctx) {
      await svc.revokeSession(await auth.actor(ctx), req.sessionId);
      return {};
    },
    async revokeAllSessions(req, ctx) {
      return { revoked: await svc.revokeAllSessions(await auth.actor(ctx), req.userId) };
    },
    // Public keys and revocations are what every verifier needs before it can verify anything.
    async listSigningKeys() {
      const keys = await svc.signingKeys();
      return {
        keys: keys.map((k) => ({ kid: k.kid, alg: "EdDSA", publicKey: k.publicKey, notBefore: BigInt(k.notBefore ?? 0), expiresAt: BigInt(k.expiresAt) })),
      };
    },
    async listUsers(req, ctx) {
      await auth.actor(ctx);
      const rows = await svc.listUserPage({
        restrictToIds: req.restrictToIds,
        ids: req.ids,
        excludeIds: req.excludeIds,
        term: req.term,
        offset: req.offset,
        limit: req.limit,
      });
      return { users: rows.map(userToProto) };
    },
    async getPreferences(req, ctx) {
      const rows = await prefs.get(await auth.actor(ctx), req.userId, req.category, req.name);
      return { preferences: rows.map((r) => ({ userId: r.user_id, category: r.category, name: r.name, value: r.value })) };
    },
    async savePreferences(req, ctx) {
      await prefs.save(await auth.actor(ctx), req.userId, req.preferences.map(toRow));
      return {};
    },
    async deletePreferences(req, ctx) {
      await prefs.remove(await auth.actor(ctx), req.userId, req.preferences.map(toRow));
      return {};
    },
    async listRevocations() {
      const rows = await svc.listRevocations();
      return {
        revocations: rows.map((s) => ({ sessionId: s.id, userId: s.user_id, revokedAt: BigInt(s.revoked_at ?? 0), expiresAt: BigInt(s.expires_at) })),
      };
    },
  };
}
