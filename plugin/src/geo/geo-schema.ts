import { accessSync, constants } from "node:fs";
import { z } from "zod";

/** A database file must exist and be readable when the configuration is loaded: a typo fails at load, not on the first viewer. */
function isReadable(file: string): boolean {
  try {
    accessSync(file, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

const databaseSchema = z.string().min(1, "must not be empty").refine(isReadable, "is not a readable file");

/** An ISO 3166-1 alpha-2 code as the databases write it (upper case); `XX` names an address with no country. */
const countrySchema = z.string().regex(/^[A-Z]{2}$/, "must be a two-letter ISO 3166-1 country code in upper case (US, GB, …)");

const asnSchema = z.number().int("must be a whole number").min(1, "must be at least 1").max(4294967295, "must be at most 4294967295");

/**
 * `auth.geo`: country and network rules on the viewer's address (docs/geo.md), read from MaxMind-format
 * `.mmdb` files. Off while no database is configured; a list needs its database.
 */
export const geoSchema = z
  .strictObject({
    /** A country database (GeoLite2/GeoIP2 Country or City, or ip-location-db's country mmdb); null = none. */
    countryDatabase: databaseSchema.nullable().default(null),
    /** An ASN database (GeoLite2 ASN or ip-location-db's asn mmdb); null = none. */
    asnDatabase: databaseSchema.nullable().default(null),
    /** When not empty, only viewers from these countries play (an address with no country is refused). */
    allowCountries: z.array(countrySchema).default([]),
    /** Viewers from these countries never play. */
    denyCountries: z.array(countrySchema).default([]),
    /** Viewers from these networks (autonomous system numbers) never play. */
    denyAsns: z.array(asnSchema).default([]),
  })
  .superRefine((section, ctx) => {
    const needsCountries = section.allowCountries.length > 0 || section.denyCountries.length > 0;
    if (needsCountries && section.countryDatabase === null) {
      ctx.addIssue({ code: "custom", path: ["countryDatabase"], message: "is needed by allowCountries/denyCountries" });
    }
    if (section.denyAsns.length > 0 && section.asnDatabase === null) {
      ctx.addIssue({ code: "custom", path: ["asnDatabase"], message: "is needed by denyAsns" });
    }
  })
  .prefault({});

/** The validated `auth.geo` section. */
export type GeoConfig = z.output<typeof geoSchema>;

/** Whether the section turns the geo step on: a database is configured. */
export function geoIsOn(config: GeoConfig): boolean {
  return config.countryDatabase !== null || config.asnDatabase !== null;
}
