/** Mattermost's Post.IsValid for what a client sends, with its limits and error ids. */
import { invalidArgument, isValidId } from "@switchboard/model";
import type { Post } from "@switchboard/proto/posts";
import { runeLength } from "../validation.js";

/** model.PostMessageMaxRunesV2. */
export const MAX_MESSAGE_RUNES = 16383;
/** model.PostPropsMaxRunes. */
const MAX_PROPS_CHARS = 800_000;
/** Mattermost's file id list fits 300 characters of JSON: 10 ids. */
const MAX_FILE_IDS = 10;
const MAX_PENDING_POST_ID = 100;

export interface NewPostInput {
  readonly channelId: string;
  readonly rootId: string;
  readonly message: string;
  readonly type: string;
  readonly props: Record<string, unknown>;
  readonly fileIds: string[];
  readonly pendingPostId: string;
  readonly metadata: Record<string, unknown>;
}

export function validateMessage(message: string, fileIds: readonly string[]): string {
  if (message.trim() === "" && fileIds.length === 0) {
    throw invalidArgument("api.post.create_post.message_empty.app_error", "A post needs a message or a file.");
  }
  const n = runeLength(message);
  if (n > MAX_MESSAGE_RUNES) {
    throw invalidArgument("model.post.is_valid.message_length.app_error", `Message is ${n} characters long; the limit is ${MAX_MESSAGE_RUNES}.`);
  }
  return message;
}

export function validateFileIds(ids: readonly string[]): string[] {
  if (ids.length > MAX_FILE_IDS || !ids.every(isValidId) || new Set(ids).size !== ids.length) {
    throw invalidArgument("model.post.is_valid.file_ids.app_error", `file_ids must be at most ${MAX_FILE_IDS} distinct 26-character ids.`);
  }
  return [...ids];
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** A JSON object (empty bytes mean {}), at most MAX_PROPS_CHARS long. */
export function validateProps(bytes: Uint8Array): Record<string, unknown> {
  if (bytes.length === 0) return {};
  const bad = () => invalidArgument("model.post.is_valid.props.app_error", `props must be a JSON object of at most ${MAX_PROPS_CHARS} characters.`);
  let text: string;
  let value: unknown;
  try {
    text = decoder.decode(bytes);
    value = JSON.parse(text);
  } catch {
    throw bad();
  }
  if (text.length > MAX_PROPS_CHARS || value === null || typeof value !== "object" || Array.isArray(value)) throw bad();
  return value as Record<string, unknown>;
}

/** Users may post ordinary messages and plugin types ("custom_..."), never system messages. */
function validateType(type: string): string {
  if (type !== "" && !/^custom_[a-z0-9_]{1,60}$/.test(type)) {
    throw invalidArgument("model.post.is_valid.type.app_error", 'Post type must be "" or "custom_<name>"; system message types are reserved.');
  }
  return type;
}

/** Only the metadata a client may set (Mattermost: the message priority). */
function clientMetadata(bytes: Uint8Array): Record<string, unknown> {
  if (bytes.length === 0) return {};
  let v: unknown;
  try {
    v = JSON.parse(decoder.decode(bytes));
  } catch {
    throw invalidArgument("model.post.is_valid.metadata.app_error", "metadata must be a JSON object.");
  }
  const priority = v !== null && typeof v === "object" ? (v as { priority?: unknown }).priority : undefined;
  return priority !== null && typeof priority === "object" && !Array.isArray(priority) ? { priority } : {};
}

export function validateNewPost(p: Post | undefined): NewPostInput {
  if (!p) throw invalidArgument("api.context.invalid_body_param.app_error", "The request has no post.");
  if (!isValidId(p.channelId)) throw invalidArgument("model.post.is_valid.channel_id.app_error", "Invalid or missing channel_id: must be a 26-character id.");
  if (p.rootId !== "" && !isValidId(p.rootId)) throw invalidArgument("model.post.is_valid.root_id.app_error", "Invalid root_id: must be a 26-character id.");
  if (p.pendingPostId.length > MAX_PENDING_POST_ID) {
    throw invalidArgument("model.post.is_valid.pending_post_id.app_error", `pending_post_id must be at most ${MAX_PENDING_POST_ID} characters.`);
  }
  const fileIds = validateFileIds(p.fileIds);
  return {
    channelId: p.channelId,
    rootId: p.rootId,
    message: validateMessage(p.message, fileIds),
    type: validateType(p.type),
    props: validateProps(p.propsJson),
    fileIds,
    pendingPostId: p.pendingPostId,
    metadata: clientMetadata(p.metadataJson),
  };
}
