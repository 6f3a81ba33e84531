// API tokens for tests. The configuration refuses an API credential with less than 128 random bits
// (plugin/src/api/api-token.ts), so every test that turns the API on uses one of these: 32 random
// bytes each, base64url, written out so that a failing test can be rerun with the same values.
import { auditSecrets } from "./log-audit.js";

/** The API token of a test server. */
export const TEST_API_TOKEN = "B5BvA3lPUf2dIvD8ULh5H9Xpyv5n1fZJCBZTvO-h87E";

/** A previous token (`api.previousTokens`), still accepted during a rotation. */
export const TEST_PREVIOUS_API_TOKEN = "zXDFf0CQDOJsBV_Il6NjNPU4rhodF_w5o9lXByR_zvI";

/** A second server's token, where a test runs two (they must differ). */
export const TEST_OTHER_API_TOKEN = "B_UIi9YH1ympKKNY3cH8BH5x0y2bo2p5pcvK9mh_4N0";

/** Named credentials of `api.credentials`, one per role below admin. */
export const TEST_OPERATOR_TOKEN = "vwrpbsDdFefQQPH85JVhHoeUzfpN4ygdVHXsoE7efYc";
export const TEST_VIEWER_TOKEN = "DiZRPXmX0y53MliDCfEOBVg0qawqT6dWAO49T0FnFhU";
export const TEST_METRICS_TOKEN = "XWooGGQaXGkqrQg0oqZatPVOpAZg1wDTLcvCXbERx8Y";

/** `api.credentials` with an operator `olivia`, a viewer `victor` and a scraper `prom`. */
export const TEST_CREDENTIALS = [
  { name: "olivia", token: TEST_OPERATOR_TOKEN, role: "operator" },
  { name: "victor", token: TEST_VIEWER_TOKEN, role: "viewer" },
  { name: "prom", token: TEST_METRICS_TOKEN, role: "metrics" },
] as const;

// The suite-wide log audit reads credential literals from test/*.ts only: these live here.
auditSecrets(TEST_API_TOKEN, TEST_PREVIOUS_API_TOKEN, TEST_OTHER_API_TOKEN, TEST_OPERATOR_TOKEN, TEST_VIEWER_TOKEN, TEST_METRICS_TOKEN);
