import { randomBytes } from "node:crypto";
import type { EdgeUrlOf } from "./edge-links.js";
import { edgeFileOf, isMultivariant, rewriteLine } from "./playlist-rewriter.js";

/** What goes between two fixed parts: the session key, or a segment file's signed edge URL. */
type Slot = null | string;

/**
 * PreparedPlaylist is one version of a playlist rewritten once, split around the places that depend on
 * the viewer, so that serving it only joins the fixed parts with that viewer's values: the rewrite
 * (`rewritePlaylist`) runs once per file version, not once per request. A slot is the session key
 * (`null`) or, in edge mode, a segment file name whose place takes that file's signed edge URL.
 */
export class PreparedPlaylist {
  readonly #parts: readonly string[];
  readonly #slots: readonly Slot[];
  readonly #partsBytes: number;
  readonly #keySlots: number;
  /** True when no slot is an edge link: the whole text depends on the key alone. */
  readonly keyOnly: boolean;

  private constructor(parts: readonly string[], slots: readonly Slot[]) {
    this.#parts = parts;
    this.#slots = slots;
    this.#partsBytes = parts.reduce((sum, part) => sum + Buffer.byteLength(part, "utf8"), 0);
    this.#keySlots = slots.filter((slot) => slot === null).length;
    this.keyOnly = this.#keySlots === slots.length;
  }

  /**
   * Prepares a playlist's text. `edge`: the segments of a media playlist (flat file names beside it) go
   * to the edge; everything else (variant playlists, other URIs) stays on the gate with the key.
   */
  static of(playlist: string, edge = false): PreparedPlaylist {
    let placeholder: string;
    do placeholder = `vaKEY${randomBytes(12).toString("hex")}`;
    while (playlist.includes(placeholder));
    const toEdge = edge && !isMultivariant(playlist);
    const parts: string[] = [];
    const slots: Slot[] = [];
    let current = "";
    const lines = playlist.split("\n");
    lines.forEach((line, i) => {
      const edgeFile = toEdge ? edgeFileOf(line) : null;
      if (edgeFile !== null) {
        parts.push(current + edgeFile.before);
        slots.push(edgeFile.file);
        current = edgeFile.after;
      } else {
        const pieces = rewriteLine(line, placeholder).split(placeholder);
        current += pieces[0]!;
        for (const piece of pieces.slice(1)) {
          parts.push(current);
          slots.push(null);
          current = piece;
        }
      }
      if (i < lines.length - 1) current += "\n";
    });
    parts.push(current);
    return new PreparedPlaylist(parts, slots);
  }

  /**
   * The playlist for one session: with no edge slots exactly `rewritePlaylist(playlist, key)`, with its
   * length in bytes. Text, not a buffer: node writes a text body in one write with the headers. `edgeUrl`
   * signs the edge slots (required when `keyOnly` is false).
   */
  render(key: string, edgeUrl?: EdgeUrlOf): { text: string; bytes: number } {
    const encoded = encodeURIComponent(key); // ASCII: one byte per character
    if (this.keyOnly) return { text: this.#parts.join(encoded), bytes: this.#partsBytes + encoded.length * this.#keySlots };
    if (edgeUrl === undefined) throw new Error("an edge playlist needs its links signed");
    let text = this.#parts[0]!;
    let bytes = this.#partsBytes;
    for (let i = 0; i < this.#slots.length; i++) {
      const slot = this.#slots[i]!;
      const value = slot === null ? encoded : edgeUrl(slot); // URLs are ASCII
      bytes += value.length;
      text += value + this.#parts[i + 1]!;
    }
    return { text, bytes };
  }
}
