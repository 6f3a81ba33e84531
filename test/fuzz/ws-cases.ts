import type { CaseOutcome } from "./case-outcome.js";
import { CLOSED_WITHOUT_ANSWER, NO_ANSWER_YET } from "./case-outcome.js";
import { attackSequence, type CaseBody, type CaseContext } from "./fuzz-case.js";
import type { FuzzRandom } from "./fuzz-random.js";
import { flvMediaOf } from "./flv-media.js";
import { hostileQuery, hostileText } from "./hostile-values.js";
import { markedFlv } from "./marked-flv.js";
import { rawRequest } from "./raw-request.js";
import { parseResponses } from "./http-responses.js";
import { rawExchange, type RawStep } from "./raw-exchange.js";
import { clientFrame, closeCodeOf, readServerFrames, WS_OPCODE } from "./ws-frames.js";

/**
 * WebSocket upgrades on the viewer port (WS-FLV rides NMS's HTTP server): valid and invalid upgrade
 * headers, hostile paths, bad Sec-WebSocket-Key and version, the publisher sub-protocols, then junk
 * frames. An upgrade may be refused (4xx, close) or accepted (101) — but an accepted one without valid
 * credentials must be closed with no media in it.
 */

const VALID_KEY = "dGhlIHNhbXBsZSBub25jZQ==";

/** The headers of a correct upgrade, as pairs so a case can drop or spoil each. */
function upgradeHeaders(overrides: Record<string, string | null> = {}): [string, string][] {
  const base: Record<string, string | null> = {
    Host: "127.0.0.1",
    Upgrade: "websocket",
    Connection: "Upgrade",
    "Sec-WebSocket-Key": VALID_KEY,
    "Sec-WebSocket-Version": "13",
    ...overrides,
  };
  return Object.entries(base).filter((e): e is [string, string] => e[1] !== null);
}

/** One upgrade attempt: the request, then frames to send whatever the answer. */
interface WsAttack {
  path: string;
  headers: [string, string][];
  method?: string;
  version?: string;
  frames?: readonly RawStep[];
  readMs?: number;
}

/** Sends an upgrade attempt and judges the answer, the close and every binary byte received. */
async function sendWsAttack(port: number, attack: WsAttack, outcome: CaseOutcome, what: string): Promise<void> {
  const readMs = attack.readMs ?? 2500;
  const request = rawRequest(attack.method ?? "GET", attack.path, attack.headers, { version: attack.version ?? "HTTP/1.1" });
  const frames = attack.frames ?? [];
  const exchange = await rawExchange(port, [request, ...(frames.length > 0 ? [{ pauseMs: 100 }, ...frames] : [])], {
    readMs,
    maxBytes: 512 * 1024,
    done: (bytes, closed) => {
      const parsed = parseResponses(bytes, ["GET"], closed);
      const first = parsed.responses[0];
      if (first === undefined) return false;
      // A refusal is whole once answered; an accepted upgrade once the server sends its close frame.
      if (first.status !== 101) return first.complete;
      return readServerFrames(parsed.afterUpgrade ?? Buffer.alloc(0)).some((f) => f.opcode === WS_OPCODE.close);
    },
  });
  if (exchange.connectFailed) return outcome.note(`${what}: connection failed (${exchange.error ?? "?"})`);
  const parsed = parseResponses(exchange.received, ["GET"], exchange.closedByServer);
  const first = parsed.responses[0];
  if (first === undefined) {
    outcome.answer(exchange.closedByServer ? CLOSED_WITHOUT_ANSWER : NO_ANSWER_YET, what);
    if (!exchange.closedByServer) outcome.noAnswer(what, readMs);
    return;
  }
  outcome.answer(first.status, what, [101]);
  if (first.status !== 101) return;
  const serverFrames = readServerFrames(parsed.afterUpgrade ?? Buffer.alloc(0));
  const binary = Buffer.concat(
    serverFrames.filter((f) => f.opcode === WS_OPCODE.binary || f.opcode === WS_OPCODE.continuation).map((f) => f.payload),
  );
  outcome.media(flvMediaOf(binary).mediaBytes, `${what} (WebSocket)`);
  const close = serverFrames.find((f) => f.opcode === WS_OPCODE.close);
  outcome.note(
    `${what}: 101, ${binary.length} binary bytes, ${close === undefined ? "no close frame" : `close ${closeCodeOf(close) ?? "(no code)"}`}${exchange.closedByServer ? ", connection closed" : ", still open"}`,
  );
}

function body(name: string, build: (ctx: CaseContext) => WsAttack | WsAttack[], authorized = false): CaseBody {
  return attackSequence(name, build, (ctx, attack, outcome, label) => sendWsAttack(ctx.ports.http, attack, outcome, label), authorized);
}

/** Junk frames a client may send after the upgrade. */
function junkFrames(marker: Buffer): RawStep[][] {
  return [
    [clientFrame(WS_OPCODE.text, Buffer.from("hello"))],
    [clientFrame(WS_OPCODE.binary, markedFlv(marker))],
    [clientFrame(WS_OPCODE.ping, Buffer.alloc(200, 1))],
    [clientFrame(WS_OPCODE.binary, Buffer.from("unmasked"), { mask: false })],
    [clientFrame(WS_OPCODE.binary, Buffer.from("rsv"), { rsv: 7 })],
    [clientFrame(3, Buffer.from("unknown opcode"))],
    [clientFrame(WS_OPCODE.ping, Buffer.from("frag"), { fin: false })],
    [clientFrame(WS_OPCODE.continuation, Buffer.from("no start"))],
    [clientFrame(WS_OPCODE.binary, Buffer.alloc(16), { declaredLength: 2 ** 53 - 1 })],
    [clientFrame(WS_OPCODE.binary, Buffer.alloc(64), { declaredLength: 200 * 1024 * 1024 })],
    [clientFrame(WS_OPCODE.close, Buffer.from([0x03, 0xe7]))],
    [clientFrame(WS_OPCODE.close, Buffer.from([0x03]))],
    [clientFrame(WS_OPCODE.text, Buffer.from([0xff, 0xfe, 0xc0, 0xaf]))],
    [clientFrame(WS_OPCODE.binary, Buffer.from("a"), { fin: false }), clientFrame(WS_OPCODE.text, Buffer.from("b"))],
    [Buffer.from("GET / HTTP/1.1\r\n\r\n", "latin1")],
  ];
}

const channelPath = (ctx: CaseContext, query = "") => `/${ctx.app}/${ctx.channel}.flv${query}`;

/** Deterministic cases, the crash vectors known from the adversarial review first. */
export const WS_CATALOGUE: readonly CaseBody[] = [
  body("WS /live/a%20b.flv (NMS closes an unnamed session it never registered)", (ctx) => ({
    path: `/${ctx.app}/a%20b.flv`,
    headers: upgradeHeaders(),
  })),
  body("WS /live (no stream name)", (ctx) => [
    { path: `/${ctx.app}`, headers: upgradeHeaders() },
    { path: `/${ctx.app}/`, headers: upgradeHeaders() },
    { path: "/", headers: upgradeHeaders() },
  ]),
  body("WS channel without credentials", (ctx) => ({ path: channelPath(ctx), headers: upgradeHeaders() })),
  body("WS traversal and odd paths", (ctx) =>
    [
      "/../x.flv",
      `/${ctx.app}/../${ctx.channel}.flv`,
      `/${ctx.app}/.flv`,
      `/${ctx.app}/${ctx.channel}`,
      `/${ctx.app}/${ctx.channel}/index.m3u8`,
      `/${ctx.app}/a.b.c.flv`,
      `/${ctx.app}/%ZZ.flv`,
      `/${ctx.app}/te%00st.flv`,
      `//${ctx.channel}.flv`,
      `/${ctx.app}/${ctx.channel}.flv/..`,
      "*",
    ].map((path) => ({ path, headers: upgradeHeaders() })),
  ),
  body("WS very long path and query", (ctx) => [
    { path: `/${ctx.app}/${"w".repeat(60_000)}.flv`, headers: upgradeHeaders() },
    { path: channelPath(ctx, `?token=${"t".repeat(30_000)}`), headers: upgradeHeaders() },
  ]),
  body("WS bad Sec-WebSocket-Key", (ctx) =>
    [null, "", "short", "!!!!notbase64!!!!", "A".repeat(10_000), `${VALID_KEY}, ${VALID_KEY}`].map((key) => ({
      path: channelPath(ctx),
      headers: upgradeHeaders({ "Sec-WebSocket-Key": key }),
    })),
  ),
  body("WS bad Sec-WebSocket-Version", (ctx) =>
    [null, "", "8", "99", "13, 8", "-1", "\u0000"].map((version) => ({
      path: channelPath(ctx),
      headers: upgradeHeaders({ "Sec-WebSocket-Version": version }),
    })),
  ),
  body("WS bad Upgrade/Connection headers, method and HTTP version", (ctx) => [
    { path: channelPath(ctx), headers: upgradeHeaders({ Upgrade: "websocket2" }) },
    { path: channelPath(ctx), headers: upgradeHeaders({ Connection: "keep-alive" }) },
    { path: channelPath(ctx), headers: upgradeHeaders({ Upgrade: null }) },
    { path: channelPath(ctx), headers: upgradeHeaders(), method: "POST" },
    { path: channelPath(ctx), headers: upgradeHeaders(), version: "HTTP/1.0" },
    { path: channelPath(ctx), headers: upgradeHeaders({ Host: null }) },
    {
      path: channelPath(ctx),
      headers: upgradeHeaders({ "Sec-WebSocket-Extensions": "permessage-deflate; server_max_window_bits=99; client_max_window_bits=x" }),
    },
    { path: channelPath(ctx), headers: upgradeHeaders({ "Sec-WebSocket-Protocol": "a, , b,\u0001" }) },
  ]),
  body("WS publisher sub-protocols pushing marked FLV without a sign", (ctx) =>
    ["post", "publisher", "POST"].map((protocol) => ({
      path: channelPath(ctx),
      headers: upgradeHeaders({ "Sec-WebSocket-Protocol": protocol }),
      frames: [clientFrame(WS_OPCODE.binary, markedFlv(ctx.injectMarker))],
    })),
  ),
  ...junkFrames(Buffer.alloc(0)).map((_, i) =>
    body(`WS junk frames #${i + 1} on the channel without credentials`, (ctx) => ({
      path: channelPath(ctx),
      headers: upgradeHeaders(),
      frames: junkFrames(ctx.injectMarker)[i]!,
    })),
  ),
  body(
    "WS authorized viewer sending junk frames (may play; never a 5xx)",
    (ctx) =>
      junkFrames(ctx.injectMarker)
        .slice(0, 6)
        .map((frames) => ({
          path: channelPath(ctx, `?token=${ctx.viewerToken}`),
          headers: upgradeHeaders(),
          frames,
          readMs: 600,
        })),
    true,
  ),
];

const HEADER_CHOICES = [
  "Upgrade",
  "Connection",
  "Sec-WebSocket-Key",
  "Sec-WebSocket-Version",
  "Sec-WebSocket-Protocol",
  "Sec-WebSocket-Extensions",
  "Host",
  "Origin",
] as const;

/** A random upgrade: a hostile path and query, some spoiled headers, a few junk frames. */
export function randomWsCase(random: FuzzRandom): CaseBody {
  const app = random.chance(0.6) ? null : hostileText(random);
  const channel = random.chance(0.5) ? null : hostileText(random);
  const extension = random.pick([".flv", ".flv", "", ".m3u8", ".flv.flv"]);
  const query = random.chance(0.6) ? `?${hostileQuery(random)}` : "";
  const overrides: Record<string, string | null> = {};
  for (let i = random.int(0, 3); i > 0; i--) overrides[random.pick(HEADER_CHOICES)] = random.chance(0.2) ? null : hostileText(random);
  const frameChoices = Array.from({ length: random.int(0, 3) }, () => random.int(0, 14));
  const randomFrames = Array.from({ length: random.int(0, 2) }, () => ({
    opcode: random.int(0, 15),
    payload: random.bytes(random.int(0, 300)),
    fin: random.chance(0.8),
    mask: random.chance(0.9),
    rsv: random.chance(0.1) ? random.int(1, 7) : 0,
  }));
  const name = `random WS ${JSON.stringify(`/${app ?? "live"}/${channel ?? "test"}${extension}${query}`.slice(0, 60))} ${JSON.stringify(Object.keys(overrides))} ${frameChoices.length + randomFrames.length} frames`;
  return {
    name,
    authorized: false,
    async run(ctx, outcome) {
      const path = `/${app ?? ctx.app}/${channel ?? ctx.channel}${extension}${query}`;
      const junk = junkFrames(ctx.injectMarker);
      const frames: RawStep[] = [...frameChoices.flatMap((i) => junk[i]!), ...randomFrames.map((f) => clientFrame(f.opcode, f.payload, f))];
      await sendWsAttack(ctx.ports.http, { path, headers: upgradeHeaders(overrides), frames, readMs: 2000 }, outcome, name);
    },
  };
}
