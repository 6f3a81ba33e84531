/**
 * Error classes of the plugin. Callers branch on `code`, never on the message.
 * A code never changes meaning and is never reused (see docs/errors.md).
 */

/**
 * VaError is the base class of every error the plugin throws on purpose. `Va` and the `VA_ERR_` code
 * prefix stand for "viewer auth" (nms-viewer-auth): a short namespace that no Node.js or dependency
 * error code uses, so a caller matching on `code` cannot confuse ours with theirs.
 */
export class VaError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** One problem found while validating a configuration. */
export interface ConfigIssue {
  /** Dotted key path with array indexes, e.g. `auth.denyIps[2]`. */
  readonly path: string;
  /** What is wrong and what was expected. */
  readonly message: string;
  /** The offending value as found in the input (secrets print as `<redacted>`). */
  readonly value?: unknown;
}

/** ConfigError lists every problem of a configuration at once, one per line. */
export class ConfigError extends VaError {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], source = "configuration") {
    const lines = issues.map((issue) => `  ${formatIssue(issue)}`);
    super("VA_ERR_CONFIG_INVALID", `${source} has ${issues.length} error(s):\n${lines.join("\n")}`);
    this.issues = issues;
  }
}

/** NmsIncompatibleError: the node-media-server instance, or the internals the gate relies on, are not as expected. */
export class NmsIncompatibleError extends VaError {
  constructor(what: string) {
    super(
      "VA_ERR_NMS_INCOMPATIBLE",
      `node-media-server internals changed: ${what}; this plugin supports node-media-server 2.7.4 and 4.4.3`,
    );
  }
}

/** AlreadyAttachedError: the plugin was attached twice to the same process-wide NMS context. */
export class AlreadyAttachedError extends VaError {
  constructor() {
    super("VA_ERR_ALREADY_ATTACHED", "viewer authorization is already attached to node-media-server; detach it first");
  }
}

function formatIssue(issue: ConfigIssue): string {
  const where = issue.path === "" ? "(root)" : issue.path;
  if (issue.value === undefined) return `${where}: ${issue.message}`;
  return `${where}: ${JSON.stringify(issue.value)} ${issue.message}`;
}

/** SignedLinkError: a signed link cannot be made from the given input (bad URL, path or lifetime). */
export class SignedLinkError extends VaError {
  constructor(message: string) {
    super("VA_ERR_SIGNED_LINK_INPUT", message);
  }
}

/**
 * How a backend call failed to get an answer: the cause logged with `backend.unreachable`. Only these
 * network failures count as unreachable; an error the transport does not recognise is not one of them
 * (it denies, see BackendRequestError and `backend.call_failed`).
 */
const UNREACHABLE_CAUSES = ["refused", "dns", "timeout", "reset", "tls"] as const;
export type UnreachableCause = (typeof UNREACHABLE_CAUSES)[number];

/**
 * BackendUnreachableError: the auth backend gave no HTTP answer (connection refused, DNS failure,
 * reset, TLS failure). `target` is the backend URL without its query or credentials.
 */
export class BackendUnreachableError extends VaError {
  readonly target: string;
  readonly failure: UnreachableCause;

  constructor(target: string, failure: UnreachableCause, detail: string, options?: { cause?: unknown; code?: string }) {
    super(options?.code ?? "VA_ERR_BACKEND_UNREACHABLE", `auth backend ${target} unreachable (${failure}): ${detail}`, options);
    this.target = target;
    this.failure = failure;
  }
}

/** BackendTimeoutError: the auth backend did not answer within the configured time. */
export class BackendTimeoutError extends BackendUnreachableError {
  readonly timeoutMs: number;

  constructor(target: string, phase: "connect" | "total", timeoutMs: number, options?: { cause?: unknown }) {
    const key = phase === "connect" ? "connectTimeoutMs" : "timeoutMs";
    super(target, "timeout", `no ${phase === "connect" ? "connection" : "answer"} within ${timeoutMs}ms (auth.backend.${key})`, {
      ...options,
      code: "VA_ERR_BACKEND_TIMEOUT",
    });
    this.timeoutMs = timeoutMs;
  }
}

/** BackendResponseError: the auth backend answered, but with something that cannot be read (too large, not JSON). */
export class BackendResponseError extends VaError {
  readonly target: string;

  constructor(target: string, problem: string, options?: { cause?: unknown }) {
    super("VA_ERR_BACKEND_RESPONSE", `auth backend ${target} sent an unusable answer: ${problem}`, options);
    this.target = target;
  }
}

/**
 * BackendRequestError: the check request for this viewer cannot be built or sent as it stands, so it is
 * not sent: a header value with a character HTTP forbids (CR, LF, NUL, other controls) or longer than
 * its cap, a viewer query a URL cannot carry verbatim, a URL too long or that does not parse. The
 * backend step denies that viewer (never "unreachable"). `problem` names the field and the character
 * position, never the value (it may hold a credential).
 */
export class BackendRequestError extends VaError {
  readonly target: string;
  readonly problem: string;

  constructor(target: string, problem: string, options?: { cause?: unknown }) {
    super("VA_ERR_BACKEND_REQUEST_INVALID", `auth backend ${target}: request not sent: ${problem}`, options);
    this.target = target;
    this.problem = problem;
  }
}

/** NmsUnsupportedVersionError: the node-media-server the instance came from is not a supported release. */
export class NmsUnsupportedVersionError extends VaError {
  constructor(version: string, supported: string) {
    super("VA_ERR_NMS_UNSUPPORTED", `node-media-server ${version} is not supported; supported releases: ${supported}`);
  }
}

/**
 * NmsInstanceError: the plugin cannot prove that it wraps the internals of the very node-media-server
 * instance it was given (its class is not in Node's module cache, or that copy's internals are not the
 * ones the instance uses). Attaching anyway could gate a copy of NMS the app never runs.
 */
export class NmsInstanceError extends VaError {
  constructor(what: string) {
    super(
      "VA_ERR_NMS_INSTANCE",
      `cannot prove the gate wraps this node-media-server instance: ${what}; pass the instance your app created with its own node-media-server`,
    );
  }
}
