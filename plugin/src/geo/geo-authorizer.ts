import type { Authorizer } from "../core/authorizer.js";
import type { AuthRequest } from "../core/auth-request.js";
import { deny, denyWith, PASS, type StepVerdict } from "../core/decision.js";
import type { Logger } from "../core/log.js";
import { GeoDatabases } from "./geo-databases.js";
import type { GeoConfig } from "./geo-schema.js";

/** The metric's subject for an address the country database knows no country of. */
export const NO_COUNTRY = "unknown";

/** The deny reason while the databases are not read yet (the plugin is not started): the rules never fail open. */
export const GEO_NOT_READY_REASON = "geo databases are not loaded yet";

/**
 * The country and network step (docs/geo.md), run with the address lists, before any credential: it
 * looks the viewer's address (resolved behind trusted proxies) up in the `.mmdb` databases.
 *
 * - ASN on `denyAsns`: refused, `asn-denied`.
 * - Country on `denyCountries`: refused, `country-denied`.
 * - `allowCountries` not empty and the country not on it, or unknown: refused, `country-not-allowed`.
 * - Otherwise pass: the rules only refuse; credentials decide who plays.
 * The refusal names the country or ASN that decided (the decision's `subject`, a metric label: a
 * two-letter code, `unknown`, or an ASN of `denyAsns`, so the label set stays bounded).
 */
export function createGeoAuthorizer(config: GeoConfig, log: Logger): Authorizer {
  const databases = new GeoDatabases(config, log);
  const allowCountries = new Set(config.allowCountries);
  const denyCountries = new Set(config.denyCountries);
  const denyAsns = new Set(config.denyAsns);
  return {
    name: "geo",
    decide: function geo(request: AuthRequest): StepVerdict {
      if (!databases.ready) return deny(GEO_NOT_READY_REASON);
      const { country, asn } = databases.lookup(request.ip);
      if (asn !== undefined && denyAsns.has(asn)) return denyWith("asn-denied", `address ${request.ip} is in AS${asn}`, `AS${asn}`);
      if (country !== undefined && denyCountries.has(country))
        return denyWith("country-denied", `address ${request.ip} is in ${country}`, country);
      if (allowCountries.size > 0 && (country === undefined || !allowCountries.has(country))) {
        const where = country === undefined ? "has no known country" : `is in ${country}`;
        return denyWith("country-not-allowed", `address ${request.ip} ${where}`, country ?? NO_COUNTRY);
      }
      return PASS;
    },
    start: () => databases.open(),
    reload: () => databases.reload(),
    close: () => databases.close(),
  };
}
