import { closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { Document, isMap, isSeq, parseDocument } from "yaml";
import type { ConfigIssue } from "../core/errors.js";

/** A users file entry as written in YAML (before validation). */
export type RawUser = Record<string, unknown>;

/**
 * UsersFileDocument is the users YAML file opened for an edit: entries are replaced, added or removed
 * by login through the YAML document model, so the operator's comments, key order and the other
 * entries stay as they were written. `write()` replaces the file atomically.
 */
export class UsersFileDocument {
  readonly #file: string;
  readonly #document: Document;

  private constructor(file: string, document: Document) {
    this.#file = file;
    this.#document = document;
  }

  /** Reads and parses the file; a YAML syntax error or a `users` that is not a list comes back as issues. */
  static read(file: string): UsersFileDocument | ConfigIssue[] {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      return [{ path: "", message: `cannot read ${file}: ${(error as Error).message}` }];
    }
    const parsed = parseDocument(text, { uniqueKeys: true });
    if (parsed.errors.length > 0) return parsed.errors.map((e) => ({ path: "", message: `YAML: ${e.message.split("\n")[0]}` }));
    // An empty file is an empty users list.
    const document: Document = parsed.contents === null ? new Document({ users: [] }) : parsed;
    if (!isMap(document.contents)) return [{ path: "", message: "must be a mapping with a users list" }];
    const users = document.get("users");
    if (users === undefined || users === null) document.set("users", document.createNode([]));
    else if (!isSeq(users)) return [{ path: "users", message: "must be a list" }];
    return new UsersFileDocument(file, document);
  }

  /** The entry whose `login` is this one, as plain data, or undefined. */
  entry(login: string): RawUser | undefined {
    const index = this.#indexOf(login);
    return index < 0 ? undefined : (this.#document.getIn(["users", index]) as { toJSON(): RawUser }).toJSON();
  }

  /** Replaces the entry with this login, or appends one when there is none. */
  put(login: string, user: RawUser): void {
    const index = this.#indexOf(login);
    const node = this.#document.createNode(user);
    if (index >= 0) {
      this.#document.setIn(["users", index], node);
      return;
    }
    const users = this.#document.get("users");
    if (isSeq(users)) users.flow = false; // `users: []` grows into a block list, one entry per item
    this.#document.addIn(["users"], node);
  }

  /** Removes the entry with this login; false when there was none. */
  remove(login: string): boolean {
    const index = this.#indexOf(login);
    if (index < 0) return false;
    this.#document.deleteIn(["users", index]);
    return true;
  }

  /** The whole file as plain data, for validation. */
  content(): unknown {
    return this.#document.toJS();
  }

  /** The file's new text. */
  text(): string {
    // No line folding (a long scrypt hash stays on one line) and `[a, b]` as people write flow lists.
    return this.#document.toString({ lineWidth: 0, flowCollectionPadding: false });
  }

  /** Writes the document over the file atomically; returns the text written. */
  write(): string {
    const text = this.text();
    writeFileAtomically(this.#file, text);
    return text;
  }

  /** The position of the entry with this login, read from the YAML nodes (no conversion of the file). */
  #indexOf(login: string): number {
    const users = this.#document.get("users");
    if (!isSeq(users)) return -1;
    return users.items.findIndex((item) => isMap(item) && item.get("login") === login);
  }
}

/**
 * Writes a file so that readers see the old content or the new, never a half-written file: a temporary
 * file in the same folder (same file system), flushed to disk, then renamed over the target. The
 * target's permission bits are kept (a users file holds credentials; it is often 0600).
 */
function writeFileAtomically(file: string, text: string): void {
  let mode = 0o600;
  try {
    mode = statSync(file).mode & 0o777;
  } catch {
    // a new file: owner-only, it holds credentials
  }
  const temporary = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  const fd = openSync(temporary, "w", mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(temporary);
    throw error;
  }
  closeSync(fd);
  renameSync(temporary, file);
}
