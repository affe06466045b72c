import type { Migration } from "@switchboard/db";
import { outboxChannelSeqMigration, outboxEventLogMigration, outboxMigration } from "@switchboard/outbox";

export const SCHEMA = "posts";

/**
 * Mattermost's tables, in the shapes its JSON uses (times in Unix ms). Two columns are ours:
 * channels.seq (the per-channel event counter; bumping it also serializes the channel's
 * changes so outbox order is commit order) and posts.pending_post_id, stored so that a retry
 * of CreatePost on any replica finds the post it already created.
 */
export const migrations: readonly Migration[] = [
  {
    id: "0001_teams_channels_posts",
    sql: `
      CREATE TABLE teams (
        id                text PRIMARY KEY,
        create_at         bigint  NOT NULL,
        update_at         bigint  NOT NULL,
        delete_at         bigint  NOT NULL DEFAULT 0,
        display_name      text    NOT NULL,
        name              text    NOT NULL,
        description       text    NOT NULL DEFAULT '',
        email             text    NOT NULL DEFAULT '',
        type              text    NOT NULL,
        company_name      text    NOT NULL DEFAULT '',
        allowed_domains   text    NOT NULL DEFAULT '',
        invite_id         text    NOT NULL,
        allow_open_invite boolean NOT NULL DEFAULT false
      );
      CREATE UNIQUE INDEX teams_name_key ON teams (name);

      CREATE TABLE team_members (
        team_id      text    NOT NULL REFERENCES teams (id),
        user_id      text    NOT NULL,
        roles        text    NOT NULL DEFAULT '',
        delete_at    bigint  NOT NULL DEFAULT 0,
        scheme_user  boolean NOT NULL DEFAULT true,
        scheme_admin boolean NOT NULL DEFAULT false,
        PRIMARY KEY (team_id, user_id)
      );
      CREATE INDEX team_members_user_idx ON team_members (user_id);

      CREATE TABLE channels (
        id                   text PRIMARY KEY,
        create_at            bigint NOT NULL,
        update_at            bigint NOT NULL,
        delete_at            bigint NOT NULL DEFAULT 0,
        team_id              text   NOT NULL,
        type                 text   NOT NULL,
        display_name         text   NOT NULL DEFAULT '',
        name                 text   NOT NULL,
        header               text   NOT NULL DEFAULT '',
        purpose              text   NOT NULL DEFAULT '',
        last_post_at         bigint NOT NULL DEFAULT 0,
        total_msg_count      bigint NOT NULL DEFAULT 0,
        extra_update_at      bigint NOT NULL DEFAULT 0,
        creator_id           text   NOT NULL DEFAULT '',
        total_msg_count_root bigint NOT NULL DEFAULT 0,
        last_root_post_at    bigint NOT NULL DEFAULT 0,
        seq                  bigint NOT NULL DEFAULT 0
      );
      -- Direct and group channels have team_id '' and a name derived from their members,
      -- so this also makes creating the same direct/group channel twice return the first.
      CREATE UNIQUE INDEX channels_team_name_key ON channels (team_id, name);

      CREATE TABLE channel_members (
        channel_id           text    NOT NULL REFERENCES channels (id),
        user_id              text    NOT NULL,
        roles                text    NOT NULL DEFAULT '',
        last_viewed_at       bigint  NOT NULL DEFAULT 0,
        msg_count            bigint  NOT NULL DEFAULT 0,
        mention_count        bigint  NOT NULL DEFAULT 0,
        mention_count_root   bigint  NOT NULL DEFAULT 0,
        urgent_mention_count bigint  NOT NULL DEFAULT 0,
        msg_count_root       bigint  NOT NULL DEFAULT 0,
        notify_props         jsonb   NOT NULL DEFAULT '{}',
        last_update_at       bigint  NOT NULL DEFAULT 0,
        scheme_user          boolean NOT NULL DEFAULT true,
        scheme_admin         boolean NOT NULL DEFAULT false,
        PRIMARY KEY (channel_id, user_id)
      );
      CREATE INDEX channel_members_user_idx ON channel_members (user_id);

      CREATE TABLE posts (
        id              text PRIMARY KEY,
        create_at       bigint  NOT NULL,
        update_at       bigint  NOT NULL,
        edit_at         bigint  NOT NULL DEFAULT 0,
        delete_at       bigint  NOT NULL DEFAULT 0,
        is_pinned       boolean NOT NULL DEFAULT false,
        user_id         text    NOT NULL,
        channel_id      text    NOT NULL,
        root_id         text    NOT NULL DEFAULT '',
        original_id     text    NOT NULL DEFAULT '',
        message         text    NOT NULL,
        type            text    NOT NULL DEFAULT '',
        props           jsonb   NOT NULL DEFAULT '{}',
        hashtags        text    NOT NULL DEFAULT '',
        file_ids        text[]  NOT NULL DEFAULT '{}',
        pending_post_id text    NOT NULL DEFAULT '',
        reply_count     bigint  NOT NULL DEFAULT 0,
        last_reply_at   bigint  NOT NULL DEFAULT 0,
        has_reactions   boolean NOT NULL DEFAULT false,
        metadata        jsonb   NOT NULL DEFAULT '{}'
      );
      -- Idempotent create: one post per (author, client pending id), on any replica, at any age.
      CREATE UNIQUE INDEX posts_pending_key ON posts (user_id, pending_post_id) WHERE pending_post_id <> '';
      CREATE INDEX posts_channel_create_idx ON posts (channel_id, create_at);
      CREATE INDEX posts_channel_update_idx ON posts (channel_id, update_at);
      CREATE INDEX posts_root_idx ON posts (root_id) WHERE root_id <> '';

      CREATE TABLE reactions (
        user_id    text   NOT NULL,
        post_id    text   NOT NULL,
        emoji_name text   NOT NULL,
        create_at  bigint NOT NULL,
        update_at  bigint NOT NULL,
        delete_at  bigint NOT NULL DEFAULT 0,
        channel_id text   NOT NULL,
        PRIMARY KEY (post_id, user_id, emoji_name)
      );
    `,
  },
  outboxMigration("0002_outbox"),
  outboxChannelSeqMigration("0003_outbox_channel_seq"),
  outboxEventLogMigration("0004_outbox_event_log"),
  {
    // Mattermost's SidebarCategories and SidebarChannels: each user's sidebar per team.
    // A channel of the user that no category lists is shown in the team's default
    // category for its type (channels, or direct_messages for direct and group channels).
    id: "0005_sidebar_categories",
    sql: `
      CREATE TABLE sidebar_categories (
        id           text    PRIMARY KEY,
        user_id      text    NOT NULL,
        team_id      text    NOT NULL,
        sort_order   bigint  NOT NULL,
        sorting      text    NOT NULL DEFAULT '',
        type         text    NOT NULL,
        display_name text    NOT NULL,
        muted        boolean NOT NULL DEFAULT false,
        collapsed    boolean NOT NULL DEFAULT false
      );
      CREATE INDEX sidebar_categories_user_team_idx ON sidebar_categories (user_id, team_id);

      CREATE TABLE sidebar_channels (
        channel_id  text   NOT NULL,
        user_id     text   NOT NULL,
        category_id text   NOT NULL REFERENCES sidebar_categories (id) ON DELETE CASCADE,
        sort_order  bigint NOT NULL,
        PRIMARY KEY (channel_id, user_id, category_id)
      );
      CREATE INDEX sidebar_channels_category_idx ON sidebar_channels (category_id, sort_order);
    `,
  },
  {
    // Mattermost's Threads and ThreadMemberships (store/sqlstore/thread_store.go): a thread
    // exists from its root's first reply; a membership from the user's first reply, mention or
    // follow. Unread replies are not stored: they are the thread's live posts after last_viewed.
    id: "0006_threads",
    sql: `
      CREATE TABLE threads (
        post_id          text   PRIMARY KEY,
        channel_id       text   NOT NULL,
        reply_count      bigint NOT NULL DEFAULT 0,
        last_reply_at    bigint NOT NULL DEFAULT 0,
        participants     jsonb  NOT NULL DEFAULT '[]',
        thread_delete_at bigint NOT NULL DEFAULT 0,
        thread_team_id   text   NOT NULL DEFAULT ''
      );
      CREATE INDEX threads_channel_idx ON threads (channel_id);
      CREATE INDEX threads_team_last_reply_idx ON threads (thread_team_id, last_reply_at DESC);

      CREATE TABLE thread_memberships (
        post_id         text    NOT NULL,
        user_id         text    NOT NULL,
        following       boolean NOT NULL,
        last_viewed     bigint  NOT NULL DEFAULT 0,
        last_updated    bigint  NOT NULL,
        unread_mentions bigint  NOT NULL DEFAULT 0,
        PRIMARY KEY (post_id, user_id)
      );
      CREATE INDEX thread_memberships_user_idx ON thread_memberships (user_id, last_updated);
    `,
  },
];
