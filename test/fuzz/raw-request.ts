/** Builds one raw request; strings are latin1 (one char per byte). */
export function rawRequest(
  method: string,
  target: string,
  headers: readonly (readonly [string, string])[],
  opts: { version?: string; body?: Buffer | string; eol?: string } = {},
): Buffer {
  const eol = opts.eol ?? "\r\n";
  const head = `${method} ${target} ${opts.version ?? "HTTP/1.1"}${eol}${headers.map(([k, v]) => `${k}: ${v}${eol}`).join("")}${eol}`;
  const body = opts.body === undefined ? Buffer.alloc(0) : typeof opts.body === "string" ? Buffer.from(opts.body, "latin1") : opts.body;
  return Buffer.concat([Buffer.from(head, "latin1"), body]);
}
