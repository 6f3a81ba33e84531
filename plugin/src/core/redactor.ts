/** What a removed credential prints as, in logs, API answers and messages. */
export const REDACTED = "<redacted>";

/**
 * Query parameter names whose values are credentials, compared case-insensitively. Besides these exact
 * names, any name containing one of {@link SECRET_PARAM_PARTS} is a credential too (`access_token`,
 * `x-api-key`, `client_secret`, `X-Amz-Signature`, …).
 */
const SECRET_PARAMS = ["sign", "sig", "pass", "pwd", "key", "hash", "va_internal", "vas"] as const;

/** Parts of a query parameter name that make its value a credential, compared case-insensitively. */
const SECRET_PARAM_PARTS = [
  "token",
  "secret",
  "passw",
  "signature",
  "credential",
  "apikey",
  "api_key",
  "api-key",
  "auth",
  "session",
] as const;

/**
 * Known secrets shorter than this are not searched for verbatim (a 1-character token would blank out
 * every log line); in a URL they are still removed by position (userinfo, secret query parameters).
 */
const MIN_VERBATIM_LENGTH = 6;

// `scheme://userinfo@` or `//userinfo@`: greedy up to the last `@` of the authority, as URL parsers (and ffmpeg) read it.
const USERINFO = /((?:[a-z][a-z0-9+.-]*:)?\/\/)[^\s/?#]*@/gi;
// `?name=value` / `&name=value` / `;name=value` anywhere in the text, URL or not. The value ends before
// a `:` that ends a word (ffmpeg's "<url>: <error>") but keeps inner ones (`auth=login:password`).
const QUERY_PAIR = /([?&;])([^=&#\s"'<>;?]+)=((?:[^&#\s"';:]|:(?!\s|$))*)/g;

/**
 * Redactor removes credentials from text before it reaches a log line, an API answer or the console:
 * the userinfo of every URL (`http://user:password@host` → `http://<redacted>@host`), the value of
 * every secret-looking query parameter in any URL-ish text (`?apikey=…&token=…` → `?apikey=<redacted>&token=<redacted>`),
 * and every known secret it was built with, wherever it appears (the internal secret, API tokens,
 * signing secrets, credentials of configured URLs). Positional rules need no configuration, so even a
 * redactor built with no secrets removes URL credentials.
 *
 * @example
 * const redactor = new Redactor([apiToken, ...Redactor.credentialsIn(sourceUrl)]);
 * redactor.redact("http://u:pw@origin/x?apikey=K: Connection refused");
 * // "http://<redacted>@origin/x?apikey=<redacted>: Connection refused"
 */
export class Redactor {
  /** One alternation of the known secrets (longest first, so no shorter one cuts a longer one); null = none. */
  readonly #known: RegExp | null;

  /** `knownSecrets`: exact strings to remove wherever they appear (shorter than MIN_VERBATIM_LENGTH: ignored). */
  constructor(knownSecrets: Iterable<string> = []) {
    const forms = new Set<string>();
    for (const secret of knownSecrets) {
      if (secret.length < MIN_VERBATIM_LENGTH) continue;
      forms.add(secret);
      // As it appears inside a JSON string (a log line) and percent-encoded in a URL.
      forms.add(JSON.stringify(secret).slice(1, -1));
      forms.add(encodeURIComponent(secret));
    }
    const sorted = [...forms].sort((a, b) => b.length - a.length);
    this.#known = sorted.length === 0 ? null : new RegExp(sorted.map(escapeRegExp).join("|"), "g");
  }

  /** The text with every credential replaced by `<redacted>`. */
  redact(text: string): string {
    let out = this.#known === null ? text : text.replace(this.#known, REDACTED);
    if (out.includes("//")) out = out.replace(USERINFO, `$1${REDACTED}@`);
    if (out.includes("="))
      out = out.replace(QUERY_PAIR, (pair, separator: string, name: string, value: string) =>
        value !== "" && isSecretParam(name) ? `${separator}${name}=${REDACTED}` : pair,
      );
    return out;
  }

  /** A copy of any JSON-like value with every string in it (keys excepted) redacted; other values as they are. */
  redactValue(value: unknown): unknown {
    if (typeof value === "string") return this.redact(value);
    if (Array.isArray(value)) return value.map((item) => this.redactValue(item));
    if (value !== null && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, this.redactValue(inner)]));
    }
    return value;
  }

  /**
   * One serialized JSON log line with every string in it redacted. Text that holds nothing to redact
   * (nearly every line) is returned as it is; otherwise the line is parsed, redacted string by string
   * and serialized again, so a removal can never break the JSON (a secret matched across an escape
   * sequence or inside a number).
   */
  redactJsonLine(line: string): string {
    const redacted = this.redact(line);
    if (redacted === line) return line;
    try {
      return `${JSON.stringify(this.redactValue(JSON.parse(line)))}\n`;
    } catch {
      return redacted; // not JSON after all: the text redaction is still better than the secret
    }
  }

  /**
   * The credentials a configured URL carries, to give a Redactor as known secrets: its userinfo
   * password and the values of its secret-looking query parameters, as written and decoded (a program
   * may print either). An unparsable URL gives none (the positional rules still apply to it).
   */
  static credentialsIn(url: string): string[] {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return [];
    }
    const found = new Set<string>();
    const add = (raw: string) => {
      if (raw === "") return;
      found.add(raw);
      found.add(safeDecode(raw));
    };
    add(parsed.password);
    for (const match of parsed.search.matchAll(QUERY_PAIR)) {
      if (isSecretParam(match[2] ?? "")) add(match[3] ?? "");
    }
    return [...found];
  }
}

/** True for a query parameter name whose value is a credential. */
function isSecretParam(name: string): boolean {
  const lower = safeDecode(name).toLowerCase();
  return (SECRET_PARAMS as readonly string[]).includes(lower) || SECRET_PARAM_PARTS.some((part) => lower.includes(part));
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return text;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}
