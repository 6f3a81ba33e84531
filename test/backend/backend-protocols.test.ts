import { expect } from "chai";
import { BACKEND_PROTOCOLS, createBackendProtocol } from "../../plugin/src/backend/backend-protocols.js";
import { createBackendAuthorizer } from "../../plugin/src/backend/backend-authorizer.js";
import { BACKEND_TYPES, backendSchema, type BackendConfig } from "../../plugin/src/backend/backend-schema.js";
import { parseConfig } from "../../plugin/src/config/parse-config.js";
import { ConfigError } from "../../plugin/src/core/errors.js";
import { createLogger } from "../../plugin/src/core/log.js";
import { MemorySessionStore } from "../../plugin/src/sessions/memory-session-store.js";
import { ManualClock } from "../helpers/manual-clock.js";
import { thrown } from "../helpers/thrown.js";

/** The smallest valid configuration of a backend type, through the schema. */
function configOf(type: string): BackendConfig {
  return parseConfig(
    backendSchema,
    type === "http-request" ? { type, url: "http://127.0.0.1:9/check" } : { type, address: "http://127.0.0.1:9/base/" },
  );
}

function configErrorOf(run: () => unknown): ConfigError {
  return thrown(run, ConfigError);
}

describe("backend protocols: one table from backend type to protocol", () => {
  it("has exactly one row per type the schema accepts, in the same order", () => {
    expect(Object.keys(BACKEND_PROTOCOLS)).to.deep.equal([...BACKEND_TYPES]);
  });

  it("gives every configurable type its own protocol (no type falls through to another's)", () => {
    for (const type of BACKEND_TYPES) {
      const protocol = createBackendProtocol(configOf(type));
      expect(protocol.type, type).to.equal(type);
    }
  });

  it("takes the check URL and the re-check rule from the protocol", () => {
    expect(createBackendProtocol(configOf("http-request"))).to.include({
      checkUrl: "http://127.0.0.1:9/check",
      keepsGrantOnRecheck: false,
    });
    expect(createBackendProtocol(configOf("ministra"))).to.include({
      checkUrl: "http://127.0.0.1:9/base/server/api/chk_flussonic_tmp_link.php",
      keepsGrantOnRecheck: true,
    });
    expect(createBackendProtocol(configOf("smarty"))).to.include({
      checkUrl: "http://127.0.0.1:9/base/tvmiddleware/api/streamservice/token/check/",
      keepsGrantOnRecheck: false,
    });
    expect(createBackendProtocol(configOf("iptvportal"))).to.include({
      checkUrl: "http://127.0.0.1:9/base/auth/arescrypt/",
      keepsGrantOnRecheck: false,
    });
  });

  it("refuses a type without a protocol with a ConfigError naming auth.backend.type and the accepted values, in the step too", () => {
    const handMade = { ...configOf("ministra"), type: "flussonic" } as unknown as BackendConfig;
    const accepted = BACKEND_TYPES.map((type) => JSON.stringify(type)).join("|");
    const expected = [{ path: "auth.backend.type", message: `has no backend protocol; must be one of ${accepted}`, value: "flussonic" }];
    const error = configErrorOf(() => createBackendProtocol(handMade));
    expect(error.code).to.equal("VA_ERR_CONFIG_INVALID");
    expect(error.issues).to.deep.equal(expected);
    expect(error.message).to.equal(
      `configuration has 1 error(s):\n  auth.backend.type: "flussonic" has no backend protocol; must be one of ${accepted}`,
    );

    const log = createLogger("silent");
    const clock = new ManualClock();
    expect(
      configErrorOf(() => createBackendAuthorizer(handMade, { sessions: new MemorySessionStore(clock, log), clock }, log)).issues,
    ).to.deep.equal(expected);
    // A name the object has by inheritance is not a row either.
    expect(configErrorOf(() => createBackendProtocol({ ...handMade, type: "toString" } as unknown as BackendConfig)).issues[0]).to.include({
      path: "auth.backend.type",
      value: "toString",
    });
  });

  it("the schema refuses the same type at load, naming the accepted values from BACKEND_TYPES", () => {
    const error = configErrorOf(() => parseConfig(backendSchema, { type: "flussonic", address: "http://127.0.0.1:9/" }));
    expect(error.issues).to.deep.equal([
      { path: "type", message: `must be one of ${BACKEND_TYPES.map((type) => JSON.stringify(type)).join("|")}`, value: "flussonic" },
    ]);
  });
});
