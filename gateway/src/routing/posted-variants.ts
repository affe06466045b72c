/**
 * Mattermost's per-connection broadcast hooks for `posted` (app/web_broadcast_hooks.go):
 * `mentions` and `followers` (stringified one-element arrays) for mentioned / following
 * recipients, and `should_ack` on active posted_ack connections of other users when the post
 * mentions or is followed by them, or is in a direct channel. Each distinct variant is
 * rendered once per event and shared by every connection that gets it.
 */
import type { Event } from "@switchboard/proto/events";
import type { Connection } from "../connections/connection.js";
import { renderEvent, withFields, type EventFrame } from "../protocol/outbound.js";

export class PostedVariants {
  private readonly cache = new Map<number, EventFrame>();
  private readonly mentioned: ReadonlySet<string>;
  private readonly followers: ReadonlySet<string>;
  /** Nobody mentioned or following, not a direct channel: every recipient gets the base frame. */
  private readonly plain: boolean;

  constructor(
    private readonly ev: Event,
    private readonly dataJson: string,
    private readonly broadcast: string,
    private readonly base: () => EventFrame,
  ) {
    this.mentioned = new Set(ev.posted?.mentionedUserIds ?? []);
    this.followers = new Set(ev.posted?.followerUserIds ?? []);
    this.plain = this.mentioned.size === 0 && this.followers.size === 0 && ev.posted?.channelType !== "D";
  }

  frameFor(conn: Connection): EventFrame {
    if (this.plain) return this.base();
    const uid = conn.userId;
    const mention = this.mentioned.has(uid);
    const follower = this.followers.has(uid);
    let ack = false;
    if (conn.postedAck && conn.attached && uid !== this.ev.posted?.senderId) {
      ack = mention || follower || this.ev.posted?.channelType === "D";
    }
    const key = (mention ? 1 : 0) | (follower ? 2 : 0) | (ack ? 4 : 0);
    if (key === 0) return this.base();
    let f = this.cache.get(key);
    if (!f) {
      const fields: Record<string, unknown> = {};
      if (mention) fields.mentions = JSON.stringify([uid]);
      if (follower) fields.followers = JSON.stringify([uid]);
      if (ack) fields.should_ack = true;
      // mentions/followers name the recipient, so those variants are per user.
      f = renderEvent(this.ev.event, withFields(this.dataJson, fields), this.broadcast);
      if (!mention && !follower) this.cache.set(key, f);
    }
    return f;
  }
}
