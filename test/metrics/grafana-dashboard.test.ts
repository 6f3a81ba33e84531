import { expect } from "chai";
import { readFileSync } from "node:fs";
import { buildChain } from "../../plugin/src/build-chain.js";
import { systemClock } from "../../plugin/src/core/clock.js";
import { parseConfig } from "../../plugin/src/config/parse-config.js";
import { pluginConfigSchema, type PluginConfig } from "../../plugin/src/plugin-config-schema.js";
import { PluginMetrics } from "../../plugin/src/metrics/plugin-metrics.js";
import { MemorySessionStore } from "../../plugin/src/sessions/memory-session-store.js";
import { createCapturingLogger } from "../helpers/capturing-logger.js";

const DASHBOARD = "samples/grafana-dashboard.json";

/** Every PromQL expression of the dashboard: its panels' targets and its template variables' queries. */
function expressionsOf(node: unknown, found: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) expressionsOf(item, found);
  else if (node !== null && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      if ((key === "expr" || key === "definition") && typeof value === "string") found.push(value);
      else expressionsOf(value, found);
    }
  }
  return found;
}

/** The series names `/metrics` serves: every family, and a histogram's `_bucket`, `_sum` and `_count`. */
async function exportedNames(): Promise<Set<string>> {
  const logs = createCapturingLogger();
  const sessions = new MemorySessionStore(systemClock, logs.logger);
  const config = parseConfig(pluginConfigSchema, { auth: { defaultAction: "allow" } }) as PluginConfig;
  const chain = buildChain(config, { sessions, clock: systemClock }, logs.logger);
  const metrics = new PluginMetrics(chain, sessions, logs.logger, chain.step("backend"), undefined, undefined, {
    channels: () => [{ channel: "live/a", up: true, restarts: { ingest: 0, packager: 0 } }],
  });
  try {
    const names = new Set<string>();
    for (const m of await metrics.toJson()) {
      names.add(m.name);
      if (String(m.type) === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) names.add(m.name + suffix);
    }
    return names;
  } finally {
    metrics.close();
    await chain.close();
  }
}

describe("samples/grafana-dashboard.json", () => {
  it("queries only metrics the plugin's /metrics serves", async () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as unknown;
    const expressions = expressionsOf(dashboard);
    expect(expressions.length, "the dashboard has queries").to.be.greaterThan(10);
    const exported = await exportedNames();
    const used = new Set(expressions.flatMap((e) => e.match(/\b(?:va|process|nodejs)_[a-z0-9_]+/g) ?? []));
    for (const name of [
      "va_live_sessions",
      "va_decisions_total",
      "va_backend_request_duration_seconds_bucket",
      "va_channel_up",
      "va_channel_restarts_total",
      "va_sent_bytes_total",
      "process_resident_memory_bytes",
      "process_cpu_seconds_total",
      "nodejs_eventloop_lag_p99_seconds",
    ])
      expect(used, `the dashboard shows ${name}`).to.include(name);
    for (const name of used) expect(exported, `${name} (used by the dashboard) is served`).to.include(name);
  });
});
