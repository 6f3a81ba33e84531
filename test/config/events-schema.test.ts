import { expect } from "chai";
import { parseConfig } from "../../plugin/src/config/parse-config.js";
import { pluginConfigSchema } from "../../plugin/src/plugin-config-schema.js";
import { ConfigError } from "../../plugin/src/core/errors.js";

const SECRET = "webhook-secret-0123456789";

describe("events section (webhooks)", () => {
  it("defaults: no webhook, a 100,000-delivery outbox kept a day, retries from 1 s to 5 min", () => {
    const { events } = parseConfig(pluginConfigSchema, {});
    expect(events).to.deep.equal({
      webhooks: [],
      node: null,
      outbox: { file: null, maxEvents: 100_000, maxAgeSec: 86_400 },
      retry: { initialMs: 1000, maxMs: 300_000 },
    });
  });

  it("a webhook gets every event type, a 5 s timeout and its URL's host and path as its name", () => {
    const { events } = parseConfig(pluginConfigSchema, {
      events: { webhooks: [{ url: "https://u:p@hooks.example/nms?x=1", secret: SECRET }] },
    });
    expect(events.webhooks[0]).to.deep.include({
      name: "hooks.example/nms",
      events: ["session.start", "session.end", "publish.start", "publish.end"],
      timeoutMs: 5000,
    });
  });

  it("names the key of each mistake: a short secret, an unknown event type, an unknown key", () => {
    const error = (() => {
      try {
        parseConfig(pluginConfigSchema, {
          events: {
            webhooks: [
              { url: "https://a.example/h", secret: "short", events: ["session.pause"] },
              { name: "same", url: "https://b.example/h", secret: SECRET },
              { name: "same", url: "https://c.example/h", secret: SECRET },
            ],
            outbox: { maxRows: 5 },
          },
        });
      } catch (caught) {
        return caught as ConfigError;
      }
      throw new Error("no error");
    })();
    const paths = error.issues.map((i) => i.path);
    expect(paths).to.include.members(["events.webhooks[0].secret", "events.webhooks[0].events[0]", "events.outbox.maxRows"]);
    expect(error.message).to.not.include("short");
  });

  it("the duplicate name is reported at its key", () => {
    try {
      parseConfig(pluginConfigSchema, {
        events: {
          webhooks: [
            { name: "same", url: "https://b.example/h", secret: SECRET },
            { name: "same", url: "https://c.example/h", secret: SECRET },
          ],
        },
      });
      expect.fail("accepted two webhooks of one name");
    } catch (error) {
      expect((error as ConfigError).issues.map((i) => i.path)).to.deep.equal(["events.webhooks[1].name"]);
    }
  });
});
