import { expect } from "chai";
import { readFileSync } from "node:fs";
import { buildChain } from "../../plugin/src/build-chain.js";
import { systemClock } from "../../plugin/src/core/clock.js";
import { parseConfig } from "../../plugin/src/config/parse-config.js";
import { pluginConfigSchema, type PluginConfig } from "../../plugin/src/plugin-config-schema.js";
import { PluginMetrics, type ChannelHealth, type MetricsSources } from "../../plugin/src/metrics/plugin-metrics.js";
import { MemorySessionStore } from "../../plugin/src/sessions/memory-session-store.js";
import { StatsLedger } from "../../plugin/src/stats/stats-ledger.js";
import { createCapturingLogger } from "../helpers/capturing-logger.js";

const pkg = JSON.parse(readFileSync("plugin/package.json", "utf8")) as { version: string };

/** Real metrics over a real chain and session store (with a ledger and a cluster status when `full`). */
async function withMetrics(sources: MetricsSources, use: (metrics: PluginMetrics) => Promise<void>, full = false): Promise<void> {
  const logs = createCapturingLogger();
  const sessions = new MemorySessionStore(systemClock, logs.logger);
  const config = parseConfig(pluginConfigSchema, { auth: { defaultAction: "allow" } }) as PluginConfig;
  const chain = buildChain(config, { sessions, clock: systemClock }, logs.logger);
  const ledger = full ? new StatsLedger(":memory:", 60_000, sessions, systemClock, logs.logger, config.stats) : undefined;
  const cluster = full ? { status: () => ({ redis: "up", localAdmissions: 0, refusedWhileDown: 0 }) as never } : undefined;
  const metrics = new PluginMetrics(chain, sessions, logs.logger, chain.step("backend"), ledger, cluster, sources);
  try {
    await use(metrics);
  } finally {
    metrics.close();
    ledger?.close();
    await chain.close();
  }
}

describe("plugin metrics (Prometheus conventions)", () => {
  it("serves va_build_info with the package, Node.js and attached NMS versions, and the process's own metrics", async () => {
    let nms: string | undefined;
    await withMetrics({ hostVersion: () => nms }, async (metrics) => {
      expect((await metrics.render()).body).to.include(`va_build_info{version="${pkg.version}",node="${process.versions.node}",nms=""} 1`);
      nms = "4.4.3";
      const text = (await metrics.render()).body;
      expect(text).to.include(`va_build_info{version="${pkg.version}",node="${process.versions.node}",nms="4.4.3"} 1`);
      expect(text).to.match(/^process_resident_memory_bytes \d+/m);
      expect(text).to.match(/^process_cpu_seconds_total [\d.e+-]+/m);
      expect(text).to.match(/^nodejs_eventloop_lag_seconds [\d.e+-]+/m);
    });
  });

  it("puts the process metrics in the plugin's registry, not prom-client's global one", async () => {
    const { register } = await import("prom-client");
    await withMetrics({}, async () => {
      expect(register.getSingleMetric("process_resident_memory_bytes")).to.equal(undefined);
    });
  });

  it("counts bytes as va_sent_bytes_total, keeping the deprecated va_bytes_out_total for one release", async () => {
    await withMetrics({}, async (metrics) => {
      const text = (await metrics.render()).body;
      expect(text).to.match(/^# TYPE va_sent_bytes_total counter$/m);
      expect(text).to.match(/^# HELP va_bytes_out_total Deprecated/m);
    });
  });

  it("reports a bundled server's channels: up 0/1 and restarts per job, which only grow", async () => {
    let channels: ChannelHealth[] = [
      { channel: "live/a", up: true, restarts: { ingest: 0, packager: 0 } },
      { channel: "live/b", up: false, restarts: { ingest: 2, packager: 1 } },
    ];
    await withMetrics({ channels: () => channels }, async (metrics) => {
      let text = (await metrics.render()).body;
      expect(text).to.include('va_channel_up{channel="live/a"} 1');
      expect(text).to.include('va_channel_up{channel="live/b"} 0');
      expect(text).to.include('va_channel_restarts_total{channel="live/a",job="ingest"} 0');
      expect(text).to.include('va_channel_restarts_total{channel="live/b",job="ingest"} 2');
      expect(text).to.include('va_channel_restarts_total{channel="live/b",job="packager"} 1');
      channels = [
        { channel: "live/a", up: false, restarts: { ingest: 1, packager: 0 } },
        { channel: "live/b", up: true, restarts: { ingest: 2, packager: 1 } },
      ];
      text = (await metrics.render()).body;
      expect(text).to.include('va_channel_up{channel="live/a"} 0');
      expect(text).to.include('va_channel_up{channel="live/b"} 1');
      expect(text).to.include('va_channel_restarts_total{channel="live/a",job="ingest"} 1');
      expect(text).to.include('va_channel_restarts_total{channel="live/b",job="ingest"} 2');
    });
  });

  it("names every counter *_total and every histogram or byte metric with its unit", async () => {
    await withMetrics(
      { channels: () => [{ channel: "live/a", up: true, restarts: { ingest: 0 } }] },
      async (metrics) => {
        const own = (await metrics.toJson()).filter((m) => m.name.startsWith("va_"));
        expect(own.map((m) => m.name)).to.include.members([
          "va_stats_pending_rows",
          "va_backend_cache_lookups_total",
          "va_cluster_redis_up",
        ]);
        for (const m of own) {
          // va_bytes_out_total: the deprecated name, kept for one release.
          if (String(m.type) === "counter") expect(m.name, `${m.name} is a counter`).to.match(/_total$/);
          if (String(m.type) === "histogram") expect(m.name, `${m.name} is a histogram`).to.match(/_seconds$|_bytes$/);
          if (m.name.includes("bytes") && m.name !== "va_bytes_out_total")
            expect(m.name, `${m.name} counts bytes`).to.match(/_bytes(_total)?$/);
        }
      },
      true,
    );
  });
});
