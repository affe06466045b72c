/** A row of `channels` as the store reads it, and the columns that read it (shared by the store and the channel sequence). */
type ChannelType = "O" | "P" | "D" | "G";

export interface ChannelRow {
  id: string;
  create_at: number;
  update_at: number;
  delete_at: number;
  team_id: string;
  type: ChannelType;
  display_name: string;
  name: string;
  header: string;
  purpose: string;
  last_post_at: number;
  total_msg_count: number;
  extra_update_at: number;
  creator_id: string;
  total_msg_count_root: number;
  last_root_post_at: number;
}

export const CHANNEL_COLUMNS =
  "id, create_at, update_at, delete_at, team_id, type, display_name, name, header, purpose, last_post_at, total_msg_count, extra_update_at, creator_id, total_msg_count_root, last_root_post_at";
