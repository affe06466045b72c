export { COMPONENTS, TRUST_DOMAIN, isComponent, spiffeId, workloadOfSubjectAltName, type Component } from "./identity.js";
export { caFiles, createCa, createDevPki, ensureDevPki, identityFiles, issueLeaf, type IdentityFiles, type LeafOptions } from "./dev-ca.js";
