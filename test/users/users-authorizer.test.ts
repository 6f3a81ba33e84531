import { expect } from "chai";
import { BANNED_REASON, BruteForceThrottle } from "../../plugin/src/brute-force/brute-force-throttle.js";
import { BUSY_REASON, createUsersAuthorizer } from "../../plugin/src/users/users-authorizer.js";
import {
  hashPassword,
  parseConfig,
  pluginConfigSchema,
  type Authorizer,
  type PluginConfigInput,
  type StepVerdict,
} from "../../plugin/src/index.js";
import { PasswordVerifier } from "../../plugin/src/users/password-verifier.js";
import { UserStore } from "../../plugin/src/users/user-store.js";
import { authRequest } from "../helpers/auth-requests.js";
import { createCapturingLogger } from "../helpers/capturing-logger.js";
import { ManualClock } from "../helpers/manual-clock.js";

const NOW = Date.parse("2026-06-01T00:00:00Z");

describe("users step", () => {
  const clock = new ManualClock(NOW);
  const logs = createCapturingLogger();
  let step: Authorizer;
  let store: UserStore;

  function build(auth: PluginConfigInput["auth"], recheckIntervalSec = 300): Authorizer {
    const config = parseConfig(pluginConfigSchema, { auth, sessions: { recheckIntervalSec } });
    store = UserStore.open(config.auth, logs.logger)!;
    const throttle = config.auth.bruteForce.enabled ? new BruteForceThrottle(config.auth.bruteForce, clock, logs.logger) : undefined;
    return createUsersAuthorizer(store, { clock, throttle, recheckIntervalSec });
  }
  const decide = async (query: string, fields: Parameters<typeof authRequest>[0] = {}): Promise<StepVerdict> =>
    step.decide(authRequest({ query, ...fields }));

  before(async () => {
    const hash = await hashPassword("pa:ss", { cost: 1024, blockSize: 8, parallelization: 1 });
    step = build({
      packages: { basic: ["test", "news"], sport: ["match"] },
      users: [
        { login: "alice", password: hash, tokens: ["alice-token-1", "alice-token-2"], packages: ["basic"], maxConnections: 2 },
        { login: "bob", password: "plain-bob", packages: ["*"] },
        { login: "carol", tokens: ["carol-token"], packages: ["sport"], ips: ["10.0.0.0/8", "2001:db8::/32"] },
        { login: "dave", tokens: ["dave-token"], packages: ["*"], enabled: false },
        { login: "erin", tokens: ["erin-token"], packages: ["*"], expires: "2026-06-01T00:10:00Z" },
        { login: "frank", tokens: ["frank-token"], packages: [] },
      ],
      bruteForce: { maxFailures: 3, windowSec: 60, banSec: 120 },
    });
  });
  beforeEach(() => clock.set(NOW));

  it("passes a request with neither auth nor token", async () => {
    expect(await decide("")).to.deep.equal({ verdict: "pass" });
    expect(await decide("foo=bar")).to.deep.equal({ verdict: "pass" });
  });

  it("allows a user's token, naming the user and carrying maxConnections as the session limit", async () => {
    expect(await decide("token=alice-token-2")).to.deep.equal({
      verdict: "allow",
      reason: 'user "alice" by token',
      user: { name: "alice", userId: "alice", maxSessions: 2 },
    });
  });

  it("passes a token that belongs to no user (it may be a signed link or a middleware token)", async () => {
    expect(await decide("token=someone-elses")).to.deep.equal({ verdict: "pass" });
  });

  it("allows auth=login:password against an scrypt hash or a plaintext password; passwords may contain ':'", async () => {
    expect(await decide("auth=alice:pa%3Ass")).to.include({ verdict: "allow", reason: 'user "alice" by password' });
    expect(await decide("auth=bob:plain-bob", { channel: "anything" })).to.include({ verdict: "allow" });
  });

  it("caches a verified pair: the repeat check answers synchronously, without scrypt", async () => {
    await decide("auth=alice:pa%3Ass");
    const again = step.decide(authRequest({ query: "auth=alice:pa%3Ass" }));
    expect(again).to.not.be.instanceOf(Promise);
    expect(again).to.include({ verdict: "allow" });
  });

  it("gives concurrent checks of one pair (sharing one scrypt run) the same verdict, right or wrong", async () => {
    const hash = await hashPassword("zed-pass", { cost: 1024, blockSize: 8, parallelization: 1 });
    const fresh = build({ users: [{ login: "zed", password: hash, packages: ["*"] }], bruteForce: { enabled: false } });
    const check = (query: string) => fresh.decide(authRequest({ query }));
    const right = await Promise.all(Array.from({ length: 20 }, () => check("auth=zed:zed-pass")));
    expect(right.map((v) => v.verdict)).to.deep.equal(new Array(20).fill("allow"));
    const wrong = await Promise.all(Array.from({ length: 5 }, () => check("auth=zed:zed-pas")));
    expect(wrong.map((v) => v.verdict)).to.deep.equal(new Array(5).fill("deny"));
  });

  it("denies unknown logins, wrong passwords, token-only users and malformed auth, without the secret in the reason", async () => {
    expect(await decide("auth=mallory:x", { ip: "192.0.2.1" })).to.deep.equal({ verdict: "deny", reason: 'unknown login "mallory"' });
    expect(await decide("auth=alice:wrong", { ip: "192.0.2.2" })).to.deep.equal({
      verdict: "deny",
      reason: 'wrong password for user "alice"',
    });
    expect(await decide("auth=carol:x", { ip: "192.0.2.3" })).to.deep.equal({
      verdict: "deny",
      reason: 'user "carol" has no password (token only)',
    });
    expect(await decide("auth=alice", { ip: "192.0.2.4" })).to.deep.equal({
      verdict: "deny",
      reason: "malformed auth parameter (expected login:password)",
    });
  });

  it("auth wins over token: a wrong password denies even with a valid token", async () => {
    expect(await decide("token=alice-token-1&auth=alice:nope", { ip: "192.0.2.5" })).to.include({
      verdict: "deny",
      reason: 'wrong password for user "alice"',
    });
  });

  it("denies a disabled user, an expired user, an unbound address and a channel outside the packages", async () => {
    expect(await decide("token=dave-token")).to.deep.equal({ verdict: "deny", reason: 'user "dave" is disabled' });
    clock.set(Date.parse("2026-06-01T00:10:00Z"));
    expect(await decide("token=erin-token")).to.deep.equal({ verdict: "deny", reason: 'user "erin" expired at 2026-06-01T00:10:00.000Z' });
    expect(await decide("token=carol-token", { channel: "match", ip: "127.0.0.1" })).to.deep.equal({
      verdict: "deny",
      reason: 'address 127.0.0.1 is not bound to user "carol"',
    });
    expect(await decide("token=carol-token", { channel: "news", ip: "10.1.2.3" })).to.deep.equal({
      verdict: "deny",
      reason: 'channel "news" is not in the packages of user "carol"',
    });
    expect(await decide("token=frank-token")).to.deep.equal({
      verdict: "deny",
      reason: 'channel "test" is not in the packages of user "frank"',
    });
  });

  it("allows a bound address (IPv4 and IPv6) for a channel in the user's packages", async () => {
    expect(await decide("token=carol-token", { channel: "match", ip: "10.9.8.7" })).to.include({ verdict: "allow" });
    expect(await decide("token=carol-token", { channel: "match", ip: "2001:db8::5" })).to.include({ verdict: "allow" });
  });

  it("re-checks a user who expires before the next interval at the expiry", async () => {
    clock.set(Date.parse("2026-06-01T00:08:00Z"));
    expect(await decide("token=erin-token")).to.include({ verdict: "allow", ttlSec: 120 });
  });

  it("bans an address after maxFailures failed credentials, right credentials included; others unaffected", async () => {
    const attacker = { ip: "198.51.100.9" };
    for (let i = 0; i < 3; i++)
      expect(await decide(`auth=alice:guess${i}`, attacker)).to.include({ reason: 'wrong password for user "alice"' });
    expect(await decide("auth=alice:pa%3Ass", attacker)).to.deep.equal({ verdict: "deny", reason: BANNED_REASON });
    expect(await decide("token=alice-token-1", attacker)).to.deep.equal({ verdict: "deny", reason: BANNED_REASON });
    expect(await decide("", attacker)).to.deep.equal({ verdict: "pass" });
    expect(await decide("token=alice-token-1", { ip: "198.51.100.10" })).to.include({ verdict: "allow" });
    expect(logs.events("auth.ip_banned").at(-1)).to.include({ ip: "198.51.100.9", failures: 3, banSec: 120, level: 40 });
    clock.advance(121_000);
    expect(await decide("token=alice-token-1", attacker)).to.include({ verdict: "allow" });
  });

  it("counts IPv6 failures per /64, and forgets failures older than the window", async () => {
    for (let i = 1; i <= 2; i++) await decide("auth=nobody:x", { ip: `2001:db8:1:2::${i}` });
    clock.advance(61_000);
    await decide("auth=nobody:x", { ip: "2001:db8:1:2::3" });
    expect(await decide("token=alice-token-1", { ip: "2001:db8:1:2::4" })).to.include({ verdict: "allow" });
    await decide("auth=nobody:x", { ip: "2001:db8:1:2::5" });
    await decide("auth=nobody:x", { ip: "2001:db8:1:2:ffff::6" });
    expect(await decide("token=alice-token-1", { ip: "2001:db8:1:2::7" })).to.deep.equal({ verdict: "deny", reason: BANNED_REASON });
    expect(logs.events("auth.ip_banned").at(-1)).to.include({ ip: "2001:db8:1:2::/64" });
  });

  it("never counts or bans re-checks of playing sessions", async () => {
    const ip = { ip: "203.0.113.50" };
    for (let i = 0; i < 5; i++) await decide("auth=alice:old", { ...ip, purpose: "recheck" });
    expect(await decide("token=alice-token-1", ip)).to.include({ verdict: "allow" });
  });

  it("can be switched off", async () => {
    const open = build({ users: [{ login: "x", tokens: ["x-token"], packages: ["*"] }], bruteForce: { enabled: false, maxFailures: 1 } });
    for (let i = 0; i < 3; i++) await open.decide(authRequest({ query: "auth=x:bad", ip: "203.0.113.1" }));
    expect(await open.decide(authRequest({ query: "token=x-token", ip: "203.0.113.1" }))).to.include({ verdict: "allow" });
  });

  it("never writes a password or token to the log", () => {
    const text = logs.raw.join("\n");
    for (const secret of ["pa:ss", "pa%3Ass", "plain-bob", "alice-token", "guess"]) expect(text).to.not.include(secret);
  });
});

describe("users step: password hashing is counted before it runs and capped process-wide", function () {
  this.timeout(20000);
  const clock = new ManualClock(NOW);
  const FAST = { cost: 1024, blockSize: 8, parallelization: 1 } as const;
  let hashes: { alice: string; bob: string };
  const stores: UserStore[] = [];
  after(() => stores.forEach((s) => s.close()));

  before(async () => {
    hashes = { alice: await hashPassword("alice-pass", FAST), bob: await hashPassword("bob-pass", FAST) };
  });

  /** A users step with its own verifier (whose counters the test reads) and throttle. */
  function build(bruteForce: NonNullable<PluginConfigInput["auth"]>["bruteForce"], logs = createCapturingLogger()) {
    const config = parseConfig(pluginConfigSchema, {
      auth: {
        users: [
          { login: "alice", password: hashes.alice, tokens: ["alice-hash-token-1"], packages: ["*"] },
          { login: "bob", password: hashes.bob, packages: ["*"] },
          { login: "plain", password: "plain-pass", packages: ["*"] },
          { login: "tv", tokens: ["tv-only-token-01"], packages: ["*"] },
        ],
        bruteForce,
      },
    });
    const store = UserStore.open(config.auth, logs.logger)!;
    stores.push(store);
    const verifier = new PasswordVerifier(config.auth.bruteForce, clock, logs.logger);
    const throttle = config.auth.bruteForce.enabled ? new BruteForceThrottle(config.auth.bruteForce, clock, logs.logger) : undefined;
    const step = createUsersAuthorizer(store, { clock, throttle, recheckIntervalSec: 300, verifier });
    const decide = (query: string, ip = "192.0.2.1", purpose: "new" | "recheck" = "new") =>
      Promise.resolve(step.decide(authRequest({ query, ip, purpose })));
    return { step, verifier, throttle, decide, logs };
  }

  it("a burst of 40 wrong passwords from one address runs maxFailures hashes, not 40", async () => {
    const { verifier, decide, logs } = build({ maxFailures: 10 });
    const verdicts = await Promise.all(Array.from({ length: 40 }, (_, i) => decide(`auth=alice:guess-${i}`, "198.51.100.7")));
    expect(verifier.counters.hashes).to.equal(10);
    expect(verdicts.filter((v) => v.verdict === "deny" && v.reason === 'wrong password for user "alice"')).to.have.length(10);
    expect(verdicts.filter((v) => v.verdict === "deny" && v.reason === BANNED_REASON)).to.have.length(30);
    expect(logs.events("auth.ip_banned")).to.have.length(1);
    expect(logs.events("auth.ip_banned")[0]).to.include({ ip: "198.51.100.7", failures: 10 });
    // Banned now: the right password is refused without a hash; other addresses are unaffected.
    expect(await decide("auth=alice:alice-pass", "198.51.100.7")).to.deep.equal({ verdict: "deny", reason: BANNED_REASON });
    expect(verifier.counters.hashes).to.equal(10);
    expect(await decide("auth=alice:alice-pass", "198.51.100.8")).to.include({ verdict: "allow" });
  });

  it("a burst of unknown logins from one address is held to maxFailures dummy hashes too", async () => {
    const { verifier, decide } = build({ maxFailures: 4 });
    await Promise.all(Array.from({ length: 25 }, (_, i) => decide(`auth=nobody-${i}:x`, "198.51.100.9")));
    expect(verifier.counters.hashes).to.equal(4);
  });

  it("right passwords free their place: one address checks more than maxFailures of them, one after another", async () => {
    const { verifier, decide } = build({ maxFailures: 2 });
    for (const query of ["auth=alice:alice-pass", "auth=bob:bob-pass", "auth=plain:plain-pass"]) {
      expect(await decide(query, "203.0.113.20"), query).to.include({ verdict: "allow" });
    }
    expect(verifier.counters.hashes).to.equal(3);
  });

  it("a burst from 30 addresses never runs more than maxConcurrentHashes at once, and every check gets its answer", async () => {
    const { verifier, decide } = build({ maxConcurrentHashes: 2, maxQueuedHashes: 100 });
    const verdicts = await Promise.all(Array.from({ length: 30 }, (_, i) => decide(`auth=bob:wrong-${i}`, `10.1.0.${i + 1}`)));
    expect(verdicts.every((v) => v.verdict === "deny" && v.reason === 'wrong password for user "bob"')).to.equal(true);
    expect(verifier.counters).to.include({ hashes: 30, peakRunning: 2, running: 0, queued: 0, busy: 0 });
  });

  it("unknown login, token-only user, plaintext password and wrong password each cost exactly one scrypt hash", async () => {
    const { verifier, decide } = build({ maxFailures: 100 });
    const cost = async (query: string) => {
      const before = verifier.counters.hashes;
      const verdict = await decide(query, "192.0.2.44");
      return { hashes: verifier.counters.hashes - before, verdict: verdict.verdict === "deny" ? verdict.reason : verdict.verdict };
    };
    expect(await cost("auth=nobody:x")).to.deep.equal({ hashes: 1, verdict: 'unknown login "nobody"' });
    expect(await cost("auth=tv:x")).to.deep.equal({ hashes: 1, verdict: 'user "tv" has no password (token only)' });
    expect(await cost("auth=plain:wrong")).to.deep.equal({ hashes: 1, verdict: 'wrong password for user "plain"' });
    expect(await cost("auth=plain:plain-pass")).to.deep.equal({ hashes: 1, verdict: "allow" });
    expect(await cost("auth=alice:wrong")).to.deep.equal({ hashes: 1, verdict: 'wrong password for user "alice"' });
    expect(await cost("auth=alice:alice-pass")).to.deep.equal({ hashes: 1, verdict: "allow" });
    expect(await cost("auth=alice:alice-pass"), "a verified pair is cached").to.deep.equal({ hashes: 0, verdict: "allow" });
    expect(await cost("auth=alice"), "malformed: no login to hide").to.deep.equal({
      hashes: 0,
      verdict: "malformed auth parameter (expected login:password)",
    });
  });

  it("over the cap with a full queue, a new viewer is refused as busy at once: not counted, and logged once", async () => {
    const logs = createCapturingLogger();
    const { verifier, decide } = build({ maxFailures: 1, maxConcurrentHashes: 1, maxQueuedHashes: 0 }, logs);
    const first = decide("auth=bob:wrong-a", "192.0.2.60");
    const busy = await Promise.all([decide("auth=alice:alice-pass", "192.0.2.61"), decide("auth=plain:plain-pass", "192.0.2.62")]);
    expect(busy).to.deep.equal([
      { verdict: "deny", reason: BUSY_REASON },
      { verdict: "deny", reason: BUSY_REASON },
    ]);
    expect(await first).to.deep.equal({ verdict: "deny", reason: 'wrong password for user "bob"' });
    expect(logs.events("auth.hashes_busy")).to.have.length(1);
    expect(logs.events("auth.hashes_busy")[0]).to.include({ refused: 1, maxConcurrentHashes: 1, maxQueuedHashes: 0, level: 40 });
    // Busy is not a failed credential (maxFailures is 1): the same address gets in once a slot is free.
    expect(await decide("auth=alice:alice-pass", "192.0.2.61")).to.include({ verdict: "allow" });
    expect(verifier.counters).to.include({ hashes: 2, busy: 2 });
  });

  it("a queued new viewer is refused as busy after hashQueueTimeoutMs; a re-check waits for its turn instead", async () => {
    const slow = await hashPassword("slow-pass"); // default factors: tens of ms, far longer than the 1 ms wait
    const config = parseConfig(pluginConfigSchema, {
      auth: {
        users: [
          { login: "slow", password: slow, packages: ["*"] },
          { login: "bob", password: hashes.bob, packages: ["*"] },
        ],
      },
    });
    const logs = createCapturingLogger();
    const store = UserStore.open(config.auth, logs.logger)!;
    stores.push(store);
    const verifier = new PasswordVerifier({ maxConcurrentHashes: 1, maxQueuedHashes: 10, hashQueueTimeoutMs: 1 }, clock, logs.logger);
    const step = createUsersAuthorizer(store, { clock, throttle: undefined, recheckIntervalSec: 300, verifier });
    const check = (query: string, purpose: "new" | "recheck") => Promise.resolve(step.decide(authRequest({ query, purpose })));
    const running = check("auth=slow:slow-pass", "new");
    const [queuedNew, queuedRecheck] = await Promise.all([check("auth=bob:bob-pass", "new"), check("auth=bob:bob-pass", "recheck")]);
    expect(queuedNew).to.deep.equal({ verdict: "deny", reason: BUSY_REASON });
    expect(queuedRecheck).to.include({ verdict: "allow", reason: 'user "bob" by password' });
    expect(await running).to.include({ verdict: "allow" });
    expect(verifier.counters).to.include({ hashes: 2, busy: 1, peakRunning: 1 });
  });
});
