import { randomBytes } from "node:crypto";
import { rewritePlaylist } from "./playlist-rewriter.js";

/**
 * PreparedPlaylist is one version of a playlist rewritten once, split around the places where the
 * session key goes, so that serving it to a viewer only joins the parts with that viewer's key: the
 * rewrite (`rewritePlaylist`) runs once per file version, not once per request.
 */
export class PreparedPlaylist {
  readonly #parts: readonly string[];
  readonly #partsBytes: number;

  private constructor(parts: readonly string[]) {
    this.#parts = parts;
    this.#partsBytes = parts.reduce((sum, part) => sum + Buffer.byteLength(part, "utf8"), 0);
  }

  /** Prepares a playlist's text: rewritten with a placeholder key that the text cannot contain. */
  static of(playlist: string): PreparedPlaylist {
    let placeholder: string;
    do placeholder = `vaKEY${randomBytes(12).toString("hex")}`;
    while (playlist.includes(placeholder));
    return new PreparedPlaylist(rewritePlaylist(playlist, placeholder).split(placeholder));
  }

  /**
   * The playlist for one session: exactly `rewritePlaylist(playlist, key)`, with its length in bytes. Text,
   * not a buffer: node writes a text body in one write with the headers.
   */
  render(key: string): { text: string; bytes: number } {
    const encoded = encodeURIComponent(key); // ASCII: one byte per character
    return { text: this.#parts.join(encoded), bytes: this.#partsBytes + encoded.length * (this.#parts.length - 1) };
  }
}
