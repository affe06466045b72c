export type { SessionClaims, PublicSigningKey, PrivateSigningKey, TokenFailure } from "./token.js";
export { TokenError, generateSigningKey, signToken, decodeUnverified, TOKEN_ISSUER } from "./token.js";
export { createKeyRing, type KeyRing } from "./key-ring.js";
export { createRevocationSet, type RevocationSet } from "./revocation-set.js";
export { createSessionVerifier, type SessionVerifier, type SessionVerifierOptions } from "./session-verifier.js";
export { actorFromClaims, hasSystemAdminRole, type Actor } from "./actor.js";
export { hashPassword, verifyPassword } from "./password.js";
