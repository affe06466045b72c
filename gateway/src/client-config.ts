import type { GatewayConfig } from "./config.js";

/**
 * `GET /api/v4/config/client?format=old`: the flat string map Mattermost clients read on
 * start and on every reconnect (Version decides features: mobile enables reliable
 * WebSockets from 6.5 on).
 */
export function clientConfig(c: GatewayConfig): Record<string, string> {
  return {
    Version: c.serverVersion,
    BuildNumber: "0",
    BuildDate: "",
    BuildHash: "switchboard",
    BuildHashEnterprise: "none",
    BuildEnterpriseReady: "false",
    SiteURL: c.siteUrl,
    SiteName: "Switchboard",
    WebsocketURL: "",
    WebsocketPort: "80",
    WebsocketSecurePort: "443",
    EnableReliableWebSockets: "true",
    EnableUserTypingMessages: "true",
    TimeBetweenUserTypingUpdatesMilliseconds: "5000",
    EnableChannelViewedMessages: "true",
    MaxPostSize: "16383",
    EnableUserCreation: "true",
    EnableSignUpWithEmail: "true",
    EnableSignInWithEmail: "true",
    EnableSignInWithUsername: "true",
    // The accounts service's rule (8 to 72 characters, no character classes), which is
    // Mattermost's default PasswordSettings too.
    PasswordMinimumLength: "8",
    PasswordRequireLowercase: "false",
    PasswordRequireUppercase: "false",
    PasswordRequireNumber: "false",
    PasswordRequireSymbol: "false",
    DiagnosticsEnabled: "false",
    EnableCustomEmoji: "false",
    // Mattermost's default (model/config.go ServiceSettings.SetDefaults): threads collapsed for
    // everyone; channel post lists answer collapsedThreads=true with root posts only.
    CollapsedThreads: "always_on",
    ExperimentalEnableAuthenticationTransfer: "false",
    FeatureFlagWebSocketEventScope: "true",
  };
}

/**
 * The version a client sees in X-Version-Id and in hello's server_version: Mattermost's
 * "<version>.<build number>.<config hash>.<licensed>".
 */
export function versionId(serverVersion: string): string {
  return `${serverVersion}.0.switchboard.false`;
}
