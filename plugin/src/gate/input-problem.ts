/**
 * InputProblem is what an input rule found wrong with one field a viewer or publisher sent: the
 * field's name, what is wrong with it (a fixed text, never the value), and the offending value,
 * which is logged only through `loggableInput`.
 */
export interface InputProblem {
  /** Where the value came from, e.g. `connect.tcUrl`, `play.streamName`, `path`. */
  readonly field: string;
  /** What is wrong, e.g. `not a string`, `longer than 1024 characters`. Never contains the value. */
  readonly reason: string;
  /** The offending value as received. Log it only through `loggableInput`. */
  readonly value?: unknown;
}
