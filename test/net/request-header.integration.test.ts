import { expect } from "chai";
import { once } from "node:events";
import { createServer, request, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { requestHeader } from "../../plugin/src/net/request-header.js";

describe("requestHeader", () => {
  /** Sends raw header lines (an array: node sends them as given, so it adds no Host) to a real node:http server; answers what requestHeader and req.headers read there. */
  async function readOnServer(rawHeaders: [string, string][], names: string[]): Promise<{ ours: unknown[]; node: unknown[] }> {
    let seen: { ours: unknown[]; node: unknown[] } | undefined;
    const server = createServer((req: IncomingMessage, res) => {
      const ours = names.map((name) => requestHeader(req, name)); // before req.headers is built
      seen = { ours, node: names.map((name) => req.headers[name]) };
      res.end();
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    try {
      const req = request({
        port: (server.address() as AddressInfo).port,
        host: "127.0.0.1",
        path: "/",
        headers: [["Host", "127.0.0.1"], ...rawHeaders].flat(),
      });
      req.end();
      const [res] = (await once(req, "response")) as [IncomingMessage];
      res.resume();
      await once(res, "end");
    } finally {
      server.close();
    }
    return seen!;
  }

  it("reads a header as node's req.headers does: any case, repeats joined with a comma, absent as undefined", async () => {
    const names = ["if-none-match", "x-forwarded-for", "range", "accept"];
    const { ours, node } = await readOnServer(
      [
        ["If-None-Match", '"a"'],
        ["X-FORWARDED-FOR", "198.51.100.7"],
        ["x-forwarded-for", "203.0.113.9"],
        ["if-none-match", '"b"'],
        ["Range", "bytes=0-1"],
      ],
      names,
    );
    expect(ours).to.deep.equal(['"a", "b"', "198.51.100.7, 203.0.113.9", "bytes=0-1", undefined]);
    expect(ours, "the same as req.headers").to.deep.equal(node);
  });
});
