// Mocha root hook (loaded through .mocharc.yml): after the whole suite, audit every log line it
// produced for credentials. Two checks:
//  1. every credential literal used in the tests (tokens, passwords, secrets, API tokens, URL passwords,
//     read from the test files (test/**/*.test.ts), plus those tests registered with auditSecrets) is absent from all log text;
//  2. wherever a log line names a credential parameter or field, or a URL carries userinfo, its value is redacted.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { auditedSecrets, auditTrail } from "./log-audit.js";

/** Credential literals in test sources: query values, token/secret lists, passwords, bearer tokens. */
function credentialsUsedInTests(): Set<string> {
  const found = new Set<string>();
  const dir = "test";
  // Test files live in one folder per concern under test/.
  const sources = readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".test.ts"))
    .map((f) => readFileSync(join(dir, f), "utf8"));
  const patterns = [
    /[?&](?:token|sign|va_internal|apikey|api_key|password|secret)=([A-Za-z0-9_.~-]{8,})/g,
    // URL userinfo: `scheme://user:password@`.
    /:\/\/[A-Za-z0-9_.~-]+:([A-Za-z0-9_.~-]{8,})@/g,
    /[?&]auth=[A-Za-z0-9_.-]+:([A-Za-z0-9_.~-]{6,})/g,
    /(?:tokens|secrets):\s*\[([^\]]*)\]/g,
    /(?:password|token|secret|internalSecret):\s*"([^"]{8,})"/g,
    /Bearer ([A-Za-z0-9_.~-]{8,})/g,
  ];
  for (const source of sources) {
    for (const pattern of patterns) {
      for (const match of source.matchAll(pattern)) {
        for (const item of (match[1] ?? "").split(",")) {
          const value = item.trim().replace(/^["']|["']$/g, "");
          // Hashes and template pieces are not credentials a viewer could reuse; skip non-literals.
          if (value.length >= 8 && !value.includes("${") && !value.startsWith("scrypt$") && /^[A-Za-z0-9_.~:-]+$/.test(value))
            found.add(value);
        }
      }
    }
  }
  return found;
}

const REDACTED = /<redacted>|^$/;
const QUERY_CREDENTIAL = /[?&"\s](token|auth|sign|password|secret|va_internal|apikey|api_key)=([^&"\s\\]*)/g;
/** `scheme://userinfo@` (its first group is empty: the finding is named "URL userinfo"). */
const URL_USERINFO = /:\/\/()([^\s/?#"@]+)@/g;
const JSON_CREDENTIAL = /"(token|password|secret|internalSecret|sign)":"([^"]*)"/g;

export const mochaHooks = {
  afterAll(this: Mocha.Context) {
    const text = auditTrail.join("\n");
    if (text.length === 0) return;
    const leaks: string[] = [];
    const credentials = credentialsUsedInTests();
    for (const secret of auditedSecrets) credentials.add(secret);
    // A guard against an audit that cannot fail: the suite uses dozens of credentials.
    if (credentials.size < 10)
      throw new Error(`log audit found only ${credentials.size} credentials in test sources; its patterns are broken`);
    for (const secret of credentials) {
      if (text.includes(secret)) leaks.push(`credential "${secret.slice(0, 4)}…" appears in full in the logs`);
    }
    for (const pattern of [QUERY_CREDENTIAL, JSON_CREDENTIAL, URL_USERINFO]) {
      for (const match of text.matchAll(pattern)) {
        if (!REDACTED.test(match[2] ?? ""))
          leaks.push(`unredacted ${match[1] || "URL userinfo"} value in a log line: …${match[0].slice(0, 12)}…`);
      }
    }
    if (leaks.length > 0) throw new Error(`log audit over ${auditTrail.length} log chunks found:\n${[...new Set(leaks)].join("\n")}`);
  },
};
