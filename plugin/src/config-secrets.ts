import { Redactor } from "./core/redactor.js";
import type { PluginConfig } from "./plugin-config-schema.js";
import type { ClusterConfig } from "./cluster/cluster-schema.js";

/**
 * Every secret a plugin configuration holds, for a {@link Redactor} to remove verbatim wherever it
 * shows up: the API tokens (current and previous), the signing secrets (play and publish), the JWT secrets, the tokens and plaintext
 * passwords of `auth.users`, the credentials in the backend's URL, and each webhook's secret and URL credentials. Users of `auth.usersFile`
 * change at run time and are not included; their credentials never reach a log line by design.
 */
export function configSecrets(config: PluginConfig): string[] {
  const secrets: string[] = [...config.api.previousTokens, ...config.auth.securetoken.secrets, ...config.publish.securetoken.secrets];
  if (config.api.token !== null) secrets.push(config.api.token);
  if (config.api.metricsToken !== null) secrets.push(config.api.metricsToken);
  for (const credential of config.api.credentials) secrets.push(credential.token);
  for (const user of config.auth.users) {
    secrets.push(...user.tokens);
    if (user.password?.kind === "plain") secrets.push(user.password.text);
  }
  if (config.auth.jwt !== null) secrets.push(...config.auth.jwt.secrets);
  if (config.hls.edge !== null) {
    const { secret, transitionSecret } = config.hls.edge;
    for (const key of [secret, transitionSecret]) if (key !== undefined) secrets.push(key);
  }
  for (const backend of [config.auth.backend, config.auth.shadowBackend]) {
    if (backend !== null) secrets.push(...Redactor.credentialsIn(backend.type === "http-request" ? backend.url : backend.address));
  }
  if (config.cluster !== null) secrets.push(...clusterSecrets(config.cluster));
  for (const hook of config.events.webhooks) secrets.push(hook.secret, ...Redactor.credentialsIn(hook.url));
  return secrets;
}

/** The Redis credentials of a `cluster` section: in its URLs, and Sentinel's two passwords. */
function clusterSecrets(cluster: ClusterConfig): string[] {
  const urls = [...(cluster.redis === undefined ? [] : [cluster.redis]), ...(cluster.redisCluster?.nodes ?? [])];
  const out = urls.flatMap((url) => Redactor.credentialsIn(url));
  for (const password of [cluster.sentinel?.password, cluster.sentinel?.sentinelPassword]) if (password) out.push(password);
  return out;
}
