/** A post created over REST as the webapp creates one (`POST /api/v4/posts`), which must be answered 201. */
export async function createPostOverRest(
  url: string,
  token: string,
  post: { readonly channel_id: string; readonly message: string; readonly pending_post_id?: string },
): Promise<void> {
  const r = await fetch(`${url}/api/v4/posts`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify(post),
  });
  if (r.status !== 201) throw new Error(`POST /api/v4/posts answered ${String(r.status)}: ${await r.text()}`);
  await r.arrayBuffer();
}
