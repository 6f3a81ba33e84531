import { parseConfig } from "./config/parse-config.js";
import { pluginConfigSchema, type PluginConfig, type PluginConfigInput } from "./plugin-config-schema.js";
import type { NodeMediaServerInstance } from "./hosts/host-adapter.js";
import { hostFor } from "./hosts/host-for.js";
import { buildViewerAuth, type ViewerAuthDeps, type ViewerAuthParts } from "./viewer-auth.js";

export type { AuthRequest, Protocol } from "./core/auth-request.js";
export type { Authorizer } from "./core/authorizer.js";
export type { Decision, StepVerdict, StepName } from "./core/decision.js";
export { allow, deny, PASS } from "./core/decision.js";
export type { PluginConfig, PluginConfigInput } from "./plugin-config-schema.js";
export { pluginConfigSchema } from "./plugin-config-schema.js";
export { loadConfigFile, parseConfig } from "./config/parse-config.js";
export {
  AlreadyAttachedError,
  BackendResponseError,
  BackendTimeoutError,
  BackendUnreachableError,
  ConfigError,
  NmsIncompatibleError,
  NmsInstanceError,
  NmsUnsupportedVersionError,
  SignedLinkError,
  VaError,
} from "./core/errors.js";
export type { BackendConfig } from "./backend/backend-schema.js";
export type { MemorySessionStore } from "./sessions/memory-session-store.js";
export type { SessionStore, SessionFilter, SessionPage, SessionPageRequest, SessionEvent, SessionStart } from "./core/session-store.js";
export type { ConfigReloadOutcome } from "./config-reload.js";
export type { ViewerSession, SessionSnapshot } from "./core/viewer-session.js";
export type { UserStore, UsersReloadResult } from "./users/user-store.js";
export { hashPassword } from "./users/password-hash.js";
export { makeSecureLink, type SecureLinkOptions } from "./securetoken/make-secure-link.js";
export { LocalProcesses, type TcpEndpoints } from "./net/process-proof.js";
export { buildViewerAuth, type ViewerAuth, type ViewerAuthDeps, type ViewerAuthParts } from "./viewer-auth.js";
export type { ExplainInput } from "./explain/explain-target.js";
export type { ExplainAnswer, ExplainStep, ExplainIdentity, ExplainLimits } from "./explain/explainer.js";
export type { ChannelHealth, MetricJson } from "./metrics/plugin-metrics.js";
export type { BackendDispatcher } from "./backend/backend-transport.js";
export type { Logger, LogFn } from "./core/log.js";
export type {
  HostAdapter,
  HostInfo,
  HttpFrontHandler,
  NodeMediaServerInstance,
  PublishedStreamInfo,
  PublishWatcher,
} from "./hosts/host-adapter.js";
export type { WebhookEvents, WebhookStatus, WebhookCounters } from "./events/webhook-events.js";
export { verifySignature, signatureHeader, SIGNATURE_HEADER } from "./events/webhook-signature.js";
export { SUPPORTED_NMS_RANGE } from "./hosts/host-package.js";
export { createNms4Host } from "./hosts/nms4/nms4-host.js";
export { hostFor } from "./hosts/host-for.js";
export { runNms, type NmsPorts, type RunnableNms } from "./hosts/nms4/run-nms.js";

/** What `attachViewerAuth` returns: the running parts, and `detach` to undo it all. */
export interface ViewerAuthHandle extends ViewerAuthParts {
  /** Resolves when everything the plugin listens on is listening. */
  readonly ready: Promise<void>;
}

/**
 * Attaches viewer authorization to a node-media-server instance, 2.7.x or 4.x (the adapter is picked
 * by the instance, `hostFor`): from then on every play (RTMP, HTTP-FLV, WS-FLV) waits for the
 * authorization chain before a single media byte is sent, and HLS (`hls.dir`; on 2.7 by default its
 * `trans` output under `http.mediaroot`) is served under sessions only. Call it once, before
 * `nms.run()`. The configuration is validated first; every problem is thrown at once as a ConfigError.
 *
 * @example
 * const nms = new NodeMediaServer({ rtmp: { port: 1935 }, http: { port: 8000 } });
 * const auth = attachViewerAuth(nms, { auth: { allowIps: ["10.0.0.0/8"] } });
 * nms.run();
 * // later: await auth.detach();
 */
export function attachViewerAuth(
  nms: NodeMediaServerInstance,
  config: PluginConfigInput = {},
  deps: ViewerAuthDeps = {},
): ViewerAuthHandle {
  return attachResolvedViewerAuth(nms, parseConfig(pluginConfigSchema, config) as PluginConfig, deps);
}

/**
 * `attachViewerAuth` for a configuration that was already validated: `buildViewerAuth`, attached to
 * the instance's host adapter and started. A refused attach, or a file that start cannot open (the
 * ledger, the API token file), detaches and throws.
 */
export function attachResolvedViewerAuth(
  nms: NodeMediaServerInstance,
  resolved: PluginConfig,
  deps: ViewerAuthDeps = {},
): ViewerAuthHandle {
  const auth = buildViewerAuth(resolved, deps);
  try {
    auth.attach(hostFor(nms));
  } catch (error) {
    void auth.detach(); // give the host its play path back
    throw error;
  }
  let ready: Promise<void>;
  try {
    ready = auth.start();
  } catch (error) {
    void auth.detach(); // release what start opened before the failure, and the host
    throw error;
  }
  return {
    get config() {
      return auth.config;
    },
    chain: auth.chain,
    sessions: auth.sessions,
    log: auth.log,
    api: auth.api,
    ledger: auth.ledger,
    webhooks: auth.webhooks,
    metrics: auth.metrics,
    users: auth.users,
    revocations: auth.revocations,
    cluster: auth.cluster,
    explain: (input) => auth.explain(input),
    ready,
    reload: (config) => auth.reload(config),
    reloadResolved: (config) => auth.reloadResolved(config),
    detach: () => auth.detach(),
  };
}
