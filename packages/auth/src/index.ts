export { createSessionAuth, type SessionAuth, type SessionAuthOptions } from "./session-auth.js";
