/** What a log line says about a value an anonymous client sent: its type, its length, a safe prefix. */
export interface LoggableInput {
  readonly type: string;
  /** Characters (strings) or bytes (buffers). */
  readonly length?: number;
  /** The start of a string, cut at the first character that could begin a credential or a control sequence. */
  readonly prefix?: string;
}

/** Characters a prefix may hold: no `?`, `&`, `=`, `:`, `@` or `%` (query values, userinfo), no controls. */
const PREFIX = /^[A-Za-z0-9 _.,;/()+-]*/;
const PREFIX_MAX_CHARS = 32;

/**
 * Describes an untrusted value for a log line without repeating it: a refused value can be a megabyte
 * long, hold control characters that forge log lines, or carry a viewer's token (`name?token=…`,
 * `rtmp://user:password@host`). The prefix stops before anything of the kind and is at most 32
 * characters, so a log line about a refusal is short and never holds a credential.
 */
export function loggableInput(value: unknown): LoggableInput {
  if (typeof value === "string") {
    const prefix = (PREFIX.exec(value)?.[0] ?? "").slice(0, PREFIX_MAX_CHARS);
    return { type: "string", length: value.length, prefix };
  }
  if (Buffer.isBuffer(value)) return { type: "buffer", length: value.length };
  if (value === null) return { type: "null" };
  if (Array.isArray(value)) return { type: "array", length: value.length };
  return { type: typeof value };
}
