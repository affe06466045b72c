import type { Migration } from "@switchboard/db";
import { outboxChannelSeqMigration, outboxMigration } from "@switchboard/outbox";

export const SCHEMA = "accounts";

export const migrations: readonly Migration[] = [
  {
    id: "0001_users_sessions_keys",
    sql: `
      CREATE TABLE users (
        id                   text PRIMARY KEY,
        create_at            bigint NOT NULL,
        update_at            bigint NOT NULL,
        delete_at            bigint NOT NULL DEFAULT 0,
        username             text   NOT NULL,
        email                text   NOT NULL,
        email_verified       boolean NOT NULL DEFAULT false,
        password_hash        text   NOT NULL,
        nickname             text   NOT NULL DEFAULT '',
        first_name           text   NOT NULL DEFAULT '',
        last_name            text   NOT NULL DEFAULT '',
        position             text   NOT NULL DEFAULT '',
        roles                text   NOT NULL,
        locale               text   NOT NULL DEFAULT 'en',
        last_password_update bigint NOT NULL,
        is_bot               boolean NOT NULL DEFAULT false,
        notify_props         jsonb  NOT NULL DEFAULT '{}',
        timezone             jsonb  NOT NULL DEFAULT '{}',
        props                jsonb  NOT NULL DEFAULT '{}'
      );
      CREATE UNIQUE INDEX users_username_key ON users (username);
      CREATE UNIQUE INDEX users_email_key ON users (lower(email));

      CREATE TABLE sessions (
        id               text PRIMARY KEY,
        user_id          text   NOT NULL REFERENCES users (id),
        create_at        bigint NOT NULL,
        expires_at       bigint NOT NULL,
        last_activity_at bigint NOT NULL,
        device_id        text   NOT NULL DEFAULT '',
        roles            text   NOT NULL,
        revoked_at       bigint
      );
      CREATE INDEX sessions_user_idx ON sessions (user_id);
      CREATE INDEX sessions_revoked_idx ON sessions (expires_at) WHERE revoked_at IS NOT NULL;

      CREATE TABLE signing_keys (
        kid         text PRIMARY KEY,
        private_key bytea  NOT NULL,
        public_key  bytea  NOT NULL,
        created_at  bigint NOT NULL,
        retire_at   bigint NOT NULL,
        expires_at  bigint NOT NULL
      );
    `,
  },
  outboxMigration("0002_outbox"),
  outboxChannelSeqMigration("0003_outbox_channel_seq"),
  {
    // Signing keys at rest: private_key holds the key wrapped by the KEK kek_id names. Rows
    // written before have kek_id NULL (the key in clear): the key manager's start-up step
    // seals them with the KEK (SQL cannot: the KEK never reaches the database).
    id: "0004_signing_keys_kek",
    sql: `ALTER TABLE signing_keys ADD COLUMN kek_id text;`,
  },
  {
    // Failed logins per key (login:<login_id>, ip:<address>) and fixed window (login/login-limiter.ts).
    id: "0005_login_attempts",
    sql: `
      CREATE TABLE login_attempts (
        key          text    NOT NULL,
        window_start bigint  NOT NULL,
        attempts     integer NOT NULL,
        PRIMARY KEY (key, window_start)
      );
      CREATE INDEX login_attempts_window_idx ON login_attempts (window_start);
    `,
  },
  {
    // Mattermost's Preferences table (one row per user, category and name).
    id: "0006_preferences",
    sql: `
      CREATE TABLE preferences (
        user_id  text NOT NULL REFERENCES users (id),
        category text NOT NULL,
        name     text NOT NULL,
        value    text NOT NULL,
        PRIMARY KEY (user_id, category, name)
      );
    `,
  },
];
