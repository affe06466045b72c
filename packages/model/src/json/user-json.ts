import type { User } from "@switchboard/proto/accounts";
import { parseJsonObject } from "./json-bytes.js";

/**
 * Mattermost's User JSON. `self` is the full view a user gets of themselves (notify props,
 * password update time); others get the sanitized view, as Mattermost's SanitizeProfile does.
 */
export function userToJson(u: User, opts: { self: boolean; showEmail?: boolean }): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: u.id,
    create_at: Number(u.createAt),
    update_at: Number(u.updateAt),
    delete_at: Number(u.deleteAt),
    username: u.username,
    auth_data: "",
    auth_service: "",
    email: opts.self || opts.showEmail !== false ? u.email : "",
    nickname: u.nickname,
    first_name: u.firstName,
    last_name: u.lastName,
    position: u.position,
    roles: u.roles,
    locale: u.locale,
    timezone: parseJsonObject(u.timezoneJson),
    is_bot: u.isBot,
    disable_welcome_email: false,
  };
  const props = parseJsonObject(u.propsJson);
  if (Object.keys(props).length > 0) out.props = props;
  if (opts.self) {
    out.email_verified = u.emailVerified;
    out.notify_props = parseJsonObject(u.notifyPropsJson);
    out.last_password_update = Number(u.lastPasswordUpdate);
  }
  return out;
}

/**
 * A User that carries only its id, as Mattermost's JSON encodes `&model.User{Id: id}` (the
 * participants of a thread read without `extended`, store/sqlstore/thread_store.go).
 */
export function bareUserJson(id: string): Record<string, unknown> {
  return {
    id,
    delete_at: 0,
    username: "",
    auth_service: "",
    email: "",
    nickname: "",
    first_name: "",
    last_name: "",
    position: "",
    roles: "",
    locale: "",
    timezone: null,
    disable_welcome_email: false,
  };
}
