// The sessions the console benches show: varied protocols, channels, addresses, players and users, each
// admitted straight into the session store, with a byte counter that moves all the time (each byte tick
// patches every row).
import type { ViewerAuth, ViewerSession } from "../plugin/src/index.js";
import { PROTOCOLS } from "../plugin/src/server-kit.js";

/** Opens and admits the `i`-th bench session in `auth`'s store; `startedAt` is when counting began (epoch ms). */
export function openBenchSession(auth: Pick<ViewerAuth, "sessions">, i: number, startedAt: number): ViewerSession {
  const session = auth.sessions.open({
    protocol: PROTOCOLS[i % PROTOCOLS.length]!,
    app: "live",
    channel: `ch${i % 40}`,
    ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    userAgent: `bench-player/${i % 7}.0 (Linux)`,
    transport: { bytesOut: () => Math.floor((Date.now() - startedAt) * (100 + (i % 50))), close() {} },
  });
  auth.sessions.admit(session, { identity: { name: `viewer-${i}`, userId: `u${i % 2500}` }, request: undefined });
  return session;
}
