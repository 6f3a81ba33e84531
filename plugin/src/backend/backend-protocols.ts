import type { BackendConfig, BackendType } from "./backend-schema.js";
import { ConfigError } from "../core/errors.js";
import type { BackendProtocol } from "./backend-protocol.js";
import { createFlussonicProtocol } from "./flussonic-protocol.js";
import { createHttpRequestProtocol } from "./http-request-protocol.js";

/** Makes the protocol of one backend type from that type's configuration. */
export type BackendProtocolFactory<T extends BackendType> = (config: Extract<BackendConfig, { type: T }>) => BackendProtocol;

/**
 * The protocol of each backend type: the one place a type meets the code that speaks it. Its type is
 * mapped over BACKEND_TYPES (backend/backend-schema.ts, which the schema accepts), so a type listed there
 * without a row here, or a row for a type not listed, does not compile. To add a backend type, add it
 * to BACKEND_TYPES and its schema to `backendSchema`, then its factory here.
 */
export const BACKEND_PROTOCOLS: { readonly [T in BackendType]: BackendProtocolFactory<T> } = {
  "http-request": createHttpRequestProtocol,
  ministra: createFlussonicProtocol,
  smarty: createFlussonicProtocol,
  iptvportal: createFlussonicProtocol,
};

/**
 * The protocol for a backend configuration. A type with no row in BACKEND_PROTOCOLS (only possible for
 * a configuration made by hand rather than by the schema) is a ConfigError naming `auth.backend.type`
 * and the accepted values, never a fallback to another protocol.
 */
export function createBackendProtocol(config: BackendConfig): BackendProtocol {
  const type: string = config.type;
  if (!Object.hasOwn(BACKEND_PROTOCOLS, type)) {
    const accepted = Object.keys(BACKEND_PROTOCOLS)
      .map((name) => JSON.stringify(name))
      .join("|");
    throw new ConfigError([{ path: "auth.backend.type", message: `has no backend protocol; must be one of ${accepted}`, value: type }]);
  }
  // The table's type pairs each type with its own configuration; indexing by a union loses that pairing.
  const factory = BACKEND_PROTOCOLS[config.type] as BackendProtocolFactory<BackendType>;
  return factory(config as never);
}
