export { newId, isValidId, nowMs } from "./ids.js";
export { AppError, invalidArgument, notFound, permissionDenied, rateLimited, type ErrorCode } from "./errors.js";
export { newEvent, type NewEvent } from "./events.js";
export { parseJsonObject, jsonBytes } from "./json/json-bytes.js";
export { postToJson, reactionToJson } from "./json/post-json.js";
export { threadToJson } from "./json/thread-json.js";
export { teamToJson, teamMemberToJson, channelToJson, channelMemberToJson } from "./json/team-json.js";
export { bareUserJson, userToJson } from "./json/user-json.js";
