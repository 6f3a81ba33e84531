import { makeSecureLink } from "../../plugin/src/securetoken/make-secure-link.js";
import { variantsOf, type MadeLink } from "../helpers/signed-link-variants.js";
import type { CaseBody, CaseContext } from "./fuzz-case.js";
import { httpCaseBody, type HttpAttack } from "./http-attack.js";
import { rawRequest } from "./raw-request.js";

/**
 * Re-spelled signed links: a genuine Astra link for the channel, made at run time for the fuzzer's
 * loopback address, sent in every other spelling a parser could read as the same fields (upper-case
 * hex, leading zeros, signs, spaces, swapped fields) and with a digit moved across each hashed boundary
 * (ip|start, start|end), which keeps the hash. Every one must be refused: only the canonical spelling is
 * a link. Unauthorized cases, so a 2xx or any media is a violation.
 */

const HOST: readonly [string, string] = ["Host", "127.0.0.1"];

function made(ctx: CaseContext, kind: "flv" | "hls"): MadeLink {
  const path = kind === "flv" ? `/${ctx.app}/${ctx.channel}.flv` : `/${ctx.app}/${ctx.channel}/index.m3u8`;
  const link = makeSecureLink({ url: `http://127.0.0.1${path}`, ip: "127.0.0.1", secret: ctx.securetokenSecret, lifetimeSec: 600 });
  return { format: "astra", value: new URL(link).searchParams.get("token")!, channel: ctx.channel, path, ip: "127.0.0.1" };
}

function attacks(ctx: CaseContext, kind: "flv" | "hls"): HttpAttack[] {
  const link = made(ctx, kind);
  return variantsOf(link).map((variant) => ({
    steps: [rawRequest("GET", `${variant.path ?? link.path}?${variant.query}`, [HOST])],
    methods: ["GET"],
    complete: true,
    readMs: 1500,
  }));
}

export const SIGNED_LINK_CATALOGUE: readonly CaseBody[] = [
  httpCaseBody(
    "GET .flv with every re-spelling and digit shift of a genuine signed link (each refused)",
    (ctx) => ctx.ports.http,
    (ctx) => attacks(ctx, "flv"),
  ),
  httpCaseBody(
    "GET playlist with every re-spelling and digit shift of a genuine signed link (each refused)",
    (ctx) => ctx.ports.http,
    (ctx) => attacks(ctx, "hls"),
  ),
];
