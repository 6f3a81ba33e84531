/** An exception as a log line about anonymous input may show it. */
export interface ErrorSummary {
  readonly type: string;
  readonly message: string;
  /** The stack's frames (code locations), without the message line. */
  readonly stack?: string;
}

const MESSAGE_MAX_CHARS = 200;
const STACK_MAX_FRAMES = 8;

/**
 * Summarizes an exception thrown while NMS handled a client's input: type, a capped message and the
 * top stack frames. Not the error object itself: NMS builds some messages from the input (a value out
 * of range, a property name), and errors such as `new URL`'s carry the input in extra fields a logger
 * would print in full.
 */
export function errorSummary(error: unknown): ErrorSummary {
  if (!(error instanceof Error)) return { type: typeof error, message: "(not an Error)" };
  const frames = (error.stack ?? "")
    .split("\n")
    .filter((line) => line.trimStart().startsWith("at "))
    .slice(0, STACK_MAX_FRAMES);
  return {
    type: error.name,
    message: error.message.slice(0, MESSAGE_MAX_CHARS),
    ...(frames.length === 0 ? {} : { stack: frames.join("\n") }),
  };
}
