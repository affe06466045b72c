import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { AppError } from "@switchboard/model";
import { PostSchema } from "@switchboard/proto/posts";
import { MAX_MESSAGE_RUNES, validateNewPost } from "./post-validation.js";

const id = "a".repeat(26);
const post = (p: Parameters<typeof create<typeof PostSchema>>[1]) => create(PostSchema, { channelId: id, message: "hi", ...p });
const code = (f: () => unknown) => {
  try {
    f();
    return "ok";
  } catch (e: unknown) {
    return e instanceof AppError ? e.id : String(e);
  }
};

describe("validateNewPost", () => {
  it("accepts a plain post and keeps only the client's priority metadata", () => {
    const v = validateNewPost(post({ metadataJson: new TextEncoder().encode('{"priority":{"priority":"urgent"},"embeds":[1]}') }));
    expect(v.metadata).toEqual({ priority: { priority: "urgent" } });
    expect(v.props).toEqual({});
  });

  it("counts the message limit in code points", () => {
    expect(code(() => validateNewPost(post({ message: "é".repeat(MAX_MESSAGE_RUNES) })))).toBe("ok");
    expect(code(() => validateNewPost(post({ message: "😀".repeat(MAX_MESSAGE_RUNES) })))).toBe("ok");
    expect(code(() => validateNewPost(post({ message: "😀".repeat(MAX_MESSAGE_RUNES + 1) })))).toBe("model.post.is_valid.message_length.app_error");
  });

  it("refuses empty messages without files, bad ids, props and types", () => {
    expect(code(() => validateNewPost(post({ message: "  " })))).toBe("api.post.create_post.message_empty.app_error");
    expect(code(() => validateNewPost(post({ message: "", fileIds: [id] })))).toBe("ok");
    expect(code(() => validateNewPost(post({ fileIds: [id, id] })))).toBe("model.post.is_valid.file_ids.app_error");
    expect(code(() => validateNewPost(post({ channelId: "x" })))).toBe("model.post.is_valid.channel_id.app_error");
    expect(code(() => validateNewPost(post({ rootId: "x" })))).toBe("model.post.is_valid.root_id.app_error");
    expect(code(() => validateNewPost(post({ propsJson: new TextEncoder().encode("{") })))).toBe("model.post.is_valid.props.app_error");
    expect(code(() => validateNewPost(post({ type: "system_add_to_channel" })))).toBe("model.post.is_valid.type.app_error");
    expect(code(() => validateNewPost(post({ type: "custom_poll" })))).toBe("ok");
    expect(code(() => validateNewPost(undefined))).toBe("api.context.invalid_body_param.app_error");
  });
});
