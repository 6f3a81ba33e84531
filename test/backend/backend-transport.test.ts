import { expect } from "chai";
import { BackendResponseError, BackendTimeoutError, BackendUnreachableError } from "../../plugin/src/core/errors.js";

describe("backend transport: pool, timeouts and an unreachable backend", () => {
  describe("error classes", () => {
    it("carry their code, name, target and message", () => {
      const unreachable = new BackendUnreachableError("http://h:1/a", "refused", "ECONNREFUSED");
      expect(unreachable).to.include({
        name: "BackendUnreachableError",
        code: "VA_ERR_BACKEND_UNREACHABLE",
        target: "http://h:1/a",
        failure: "refused",
      });
      expect(unreachable.message).to.equal("auth backend http://h:1/a unreachable (refused): ECONNREFUSED");
      const timeout = new BackendTimeoutError("http://h:1/a", "connect", 1000);
      expect(timeout).to.include({ name: "BackendTimeoutError", code: "VA_ERR_BACKEND_TIMEOUT", failure: "timeout", timeoutMs: 1000 });
      expect(timeout.message).to.equal(
        "auth backend http://h:1/a unreachable (timeout): no connection within 1000ms (auth.backend.connectTimeoutMs)",
      );
      expect(timeout).to.be.instanceOf(BackendUnreachableError);
      const response = new BackendResponseError("http://h:1/a", "body larger than 65536 bytes");
      expect(response).to.include({ name: "BackendResponseError", code: "VA_ERR_BACKEND_RESPONSE" });
      expect(response.message).to.equal("auth backend http://h:1/a sent an unusable answer: body larger than 65536 bytes");
    });
  });
});
