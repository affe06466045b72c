export {
  deployableRoles,
  inboxPrefix,
  natsPermissions,
  natsRoles,
  type NatsPermissions,
  type NatsRole,
  type PermissionOptions,
  type SubjectRules,
} from "./permissions.js";
export {
  generateNatsUsers,
  loadOrCreateNatsUsers,
  natsUserEnv,
  newNatsPassword,
  rotateNatsPasswords,
  writePasswordFiles,
  type NatsUser,
  type NatsUsers,
} from "./credentials.js";
export { natsServerConfig, natsServerConfigObject, type NatsClusterSettings, type NatsServerConfigOptions, type NatsTlsFiles } from "./server-config.js";
