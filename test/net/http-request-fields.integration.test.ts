import { expect } from "chai";
import { once } from "node:events";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { httpRequestFields } from "../../plugin/src/gate/http-request-fields.js";
import { IpRuleList } from "../../plugin/src/net/ip-rule-list.js";

describe("AuthRequest.path from an HTTP request: percent-decoded, the query as received", () => {
  let server: Server;
  let port: number;
  before(async () => {
    server = createServer((req, res) => {
      const fields = httpRequestFields(req, req.url ?? "/", new IpRuleList([]));
      res.end(JSON.stringify({ path: fields.path, query: fields.query }));
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise((done) => server.close(done)));

  const fieldsFor = (path: string) =>
    new Promise<{ path: string; query: string }>((resolve, reject) => {
      request({ host: "127.0.0.1", port, path }, (res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => (body += chunk.toString()));
        res.on("end", () => resolve(JSON.parse(body) as { path: string; query: string }));
      })
        .on("error", reject)
        .end();
    });

  it("decodes the path, so one stream has one spelling for backends and signed links", async () => {
    expect(await fieldsFor("/live/te%73t.flv?token=a%20b&x=1")).to.deep.equal({ path: "/live/test.flv", query: "token=a%20b&x=1" });
    expect(await fieldsFor("/live/test/index.m3u8")).to.deep.equal({ path: "/live/test/index.m3u8", query: "" });
  });

  it("keeps a path that does not decode as received (the gates in front refuse it first)", async () => {
    expect(await fieldsFor("/live/%zz.flv")).to.deep.equal({ path: "/live/%zz.flv", query: "" });
  });
});
