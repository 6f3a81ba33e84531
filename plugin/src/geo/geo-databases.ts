import { readFileSync, watch, type FSWatcher } from "node:fs";
import type { Reader, Response } from "maxmind";
import { ConfigError } from "../core/errors.js";
import type { Logger } from "../core/log.js";

/** What a geo database says of one address: its country and its network, each when known. */
export interface GeoFacts {
  /** ISO 3166-1 alpha-2, upper case; undefined when the database has no country for the address. */
  readonly country: string | undefined;
  /** The autonomous system number; undefined when the database has none. */
  readonly asn: number | undefined;
}

/** A record as MaxMind's GeoLite2/GeoIP2 databases or ip-location-db's write it. */
interface GeoRecord {
  country?: { iso_code?: unknown };
  registered_country?: { iso_code?: unknown };
  country_code?: unknown;
  autonomous_system_number?: unknown;
}

type MaxmindModule = typeof import("maxmind");

/** A file change is read after this quiet time: a copy in progress fires several events. */
const CHANGE_SETTLE_MS = 200;

/** One `.mmdb` file and the key that names it. */
interface Database {
  readonly key: string;
  readonly file: string;
  reader: Reader<Response> | undefined;
}

/**
 * GeoDatabases holds the country and ASN `.mmdb` files of `auth.geo`, read with `maxmind`, which is an
 * optional peer of the package: it is imported (dynamically) by `open`, only when a database is configured;
 * a missing package is a `ConfigError` naming the key. Each file is read whole into memory and replaced
 * when it changes on disk (an `fs.watch` on its folder, so a file swapped by rename is seen too) and on
 * `reload` (SIGHUP, a configuration reload). A file that no longer reads keeps the previous copy in
 * force, with a warning: the rules never lapse because an update went wrong.
 */
export class GeoDatabases {
  readonly #databases: Database[];
  readonly #log: Logger;
  #maxmind: MaxmindModule | undefined;
  #watchers: FSWatcher[] = [];
  #timers = new Map<Database, NodeJS.Timeout>();

  constructor(files: { countryDatabase: string | null; asnDatabase: string | null }, log: Logger) {
    this.#log = log;
    this.#databases = [];
    if (files.countryDatabase !== null)
      this.#databases.push({ key: "auth.geo.countryDatabase", file: files.countryDatabase, reader: undefined });
    if (files.asnDatabase !== null) this.#databases.push({ key: "auth.geo.asnDatabase", file: files.asnDatabase, reader: undefined });
  }

  /** True once every database has been read. */
  get ready(): boolean {
    return this.#databases.every((db) => db.reader !== undefined);
  }

  /** Imports maxmind, reads every database and watches the files. Throws a ConfigError naming the key. */
  async open(): Promise<void> {
    if (this.#databases.length === 0) return;
    try {
      this.#maxmind = await import("maxmind");
    } catch {
      throw new ConfigError([{ path: this.#databases[0]!.key, message: "needs the maxmind package: npm install maxmind@5" }]);
    }
    const issues = this.#databases.flatMap((db) => {
      const problem = this.#read(db);
      return problem === null ? [] : [{ path: db.key, message: `${db.file}: ${problem}` }];
    });
    if (issues.length > 0) throw new ConfigError(issues);
    for (const db of this.#databases) this.#watch(db);
  }

  /** Reads every file again now (SIGHUP, a configuration reload); a file that does not read keeps its previous copy. */
  reload(): void {
    for (const db of this.#databases) this.#reread(db, "reload");
  }

  /** The country and ASN of an address (text, as the request carries it). */
  lookup(ip: string): GeoFacts {
    let country: string | undefined;
    let asn: number | undefined;
    for (const db of this.#databases) {
      const record = lookupIn(db.reader, ip);
      if (record === null) continue;
      country ??= countryOf(record);
      if (asn === undefined && typeof record.autonomous_system_number === "number") asn = record.autonomous_system_number;
    }
    return { country, asn };
  }

  close(): void {
    for (const watcher of this.#watchers) watcher.close();
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#watchers = [];
    this.#timers.clear();
  }

  /** Reads a database into a new reader; returns why not, or null. */
  #read(db: Database): string | null {
    try {
      db.reader = new this.#maxmind!.Reader<Response>(readFileSync(db.file));
      return null;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }

  #reread(db: Database, why: "reload" | "changed"): void {
    const previous = db.reader;
    const problem = this.#read(db);
    if (problem === null) {
      this.#log.info({ event: "geo.database_loaded", key: db.key, file: db.file, why }, "geo database read");
      return;
    }
    db.reader = previous;
    this.#log.warn(
      { event: "geo.database_unreadable", key: db.key, file: db.file, why, problem },
      "geo database could not be read; keeping the previous copy",
    );
  }

  #watch(db: Database): void {
    const folder = db.file.includes("/") ? db.file.slice(0, db.file.lastIndexOf("/")) || "/" : ".";
    const name = db.file.slice(db.file.lastIndexOf("/") + 1);
    try {
      const watcher = watch(folder, { persistent: false }, (_event, changed) => {
        if (changed !== null && changed.toString() !== name) return;
        clearTimeout(this.#timers.get(db));
        this.#timers.set(
          db,
          setTimeout(() => {
            this.#timers.delete(db);
            this.#reread(db, "changed");
          }, CHANGE_SETTLE_MS),
        );
      });
      watcher.on("error", (error) => this.#log.warn({ event: "geo.watch_failed", key: db.key, err: error }, "geo database watch failed"));
      this.#watchers.push(watcher);
    } catch (error) {
      this.#log.warn({ event: "geo.watch_failed", key: db.key, err: error }, "geo database cannot be watched; SIGHUP still reloads it");
    }
  }
}

function lookupIn(reader: Reader<Response> | undefined, ip: string): GeoRecord | null {
  if (reader === undefined || ip === "") return null;
  try {
    // The records of both MaxMind's and ip-location-db's layouts are read field by field below.
    return reader.get(ip) as GeoRecord | null;
  } catch {
    // An IPv6 address against an IPv4-only database, or text that is no address.
    return null;
  }
}

function countryOf(record: GeoRecord): string | undefined {
  const code = record.country?.iso_code ?? record.registered_country?.iso_code ?? record.country_code;
  return typeof code === "string" && /^[A-Z]{2}$/.test(code) ? code : undefined;
}
