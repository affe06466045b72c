export { createSessionAuth, type SessionAuth, type SessionAuthOptions, type AccountsClient } from "./session-auth.js";
