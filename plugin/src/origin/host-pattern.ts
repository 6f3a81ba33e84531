/** A host name pattern: `example.com` (that host only) or `*.example.com` (its subdomains, not itself). */
const PATTERN = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** Why a pattern is refused, or null when it is one. */
export function hostPatternProblem(pattern: string): string | null {
  if (pattern.length > 253) return "is longer than 253 characters";
  if (!PATTERN.test(pattern)) return "is not a host name (example.com) or a wildcard of subdomains (*.example.com), in lower case";
  return null;
}

/**
 * HostPatterns matches page host names against the origin lock's patterns: an exact name matches that
 * host only; `*.example.com` matches `a.example.com` and `a.b.example.com` but not `example.com` itself
 * (list both to allow both). A lookup is one set read per label of the host, whatever the number of patterns.
 */
export class HostPatterns {
  readonly #exact: ReadonlySet<string>;
  readonly #suffixes: ReadonlySet<string>;

  constructor(patterns: readonly string[]) {
    this.#exact = new Set(patterns.filter((p) => !p.startsWith("*.")));
    this.#suffixes = new Set(patterns.filter((p) => p.startsWith("*.")).map((p) => p.slice(2)));
  }

  get size(): number {
    return this.#exact.size + this.#suffixes.size;
  }

  /** Whether the host (lower case, no port) matches a pattern. */
  matches(host: string): boolean {
    if (this.#exact.has(host)) return true;
    for (let dot = host.indexOf("."); dot >= 0; dot = host.indexOf(".", dot + 1)) {
      if (this.#suffixes.has(host.slice(dot + 1))) return true;
    }
    return false;
  }
}
