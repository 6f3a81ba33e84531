import { execFile, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./free-port.js";
import { killRedis as kill, launchRedisServer as launch } from "./redis-server.js";
import { waitUntil } from "./wait-for.js";

const run = promisify(execFile);

/** One command through redis-cli against a loopback port; its output, trimmed. */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args], { timeout: 5000 });
  return stdout.trim();
}

/** A master, one replica and three Sentinels on loopback ports, each process with a temp dir of its own. */
export interface SentinelSet {
  name: string;
  /** The Sentinels as `host:port`, for `cluster.sentinel.nodes`. */
  sentinelNodes: string[];
  masterPort: number;
  replicaPort: number;
  /** SIGKILL of the master: no goodbye, as a crash. */
  killMaster(): Promise<void>;
  /** The master's port as the first Sentinel that answers names it. */
  masterPortNow(): Promise<number | undefined>;
  stop(): Promise<void>;
}

/**
 * Starts the set and waits until the replica is in sync and the three Sentinels know each other and the
 * replica (`SENTINEL CKQUORUM` says 3 usable), so a kill of the master is followed by a failover.
 */
export async function startSentinelSet(downAfterMs = 2000): Promise<SentinelSet> {
  const name = "va-master";
  const dir = mkdtempSync(join(tmpdir(), "va-sentinel-"));
  const procs: ChildProcess[] = [];
  const [masterPort, replicaPort] = [await freePort(), await freePort()];
  const stop = async () => {
    await Promise.all(procs.map(kill));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const master = await launch(["--port", String(masterPort), ...noPersistence(dir, "master")], masterPort);
    procs.push(master);
    procs.push(
      await launch(
        ["--port", String(replicaPort), "--replicaof", "127.0.0.1", String(masterPort), ...noPersistence(dir, "replica")],
        replicaPort,
      ),
    );
    const sentinelPorts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const file = join(dir, `sentinel-${i}.conf`);
      writeFileSync(
        file,
        [
          `port ${port}`,
          "bind 127.0.0.1",
          `dir ${dir}`,
          `sentinel monitor ${name} 127.0.0.1 ${masterPort} 2`,
          `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
          `sentinel failover-timeout ${name} 10000`,
          "",
        ].join("\n"),
      );
      procs.push(await launch([file, "--sentinel"], port));
      sentinelPorts.push(port);
    }
    await waitUntil(
      "the replica in sync",
      async () => (await redisCli(replicaPort, "INFO", "replication")).includes("master_link_status:up"),
      20_000,
      100,
    );
    await waitUntil(
      "three Sentinels that know each other and the replica",
      async () => {
        const quorum = await redisCli(sentinelPorts[0]!, "SENTINEL", "CKQUORUM", name).catch(() => "");
        const replicas = await redisCli(sentinelPorts[0]!, "SENTINEL", "REPLICAS", name).catch(() => "");
        return quorum.includes("3 usable") && replicas.includes(String(replicaPort));
      },
      30_000,
      200,
    );
    return {
      name,
      sentinelNodes: sentinelPorts.map((p) => `127.0.0.1:${p}`),
      masterPort,
      replicaPort,
      killMaster: () => kill(master),
      async masterPortNow() {
        for (const port of sentinelPorts) {
          const reply = await redisCli(port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", name).catch(() => "");
          const lines = reply.split("\n");
          if (lines.length === 2) return Number(lines[1]);
        }
        return undefined;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Three Redis Cluster masters on loopback ports (no replicas), every slot assigned. */
export interface RedisClusterSet {
  ports: number[];
  /** `redis://127.0.0.1:port` of each node, for `cluster.redisCluster.nodes`. */
  urls: string[];
  stop(): Promise<void>;
}

export async function startRedisCluster(): Promise<RedisClusterSet> {
  const dir = mkdtempSync(join(tmpdir(), "va-rcluster-"));
  const procs: ChildProcess[] = [];
  const ports = [await freePort(), await freePort(), await freePort()];
  const stop = async () => {
    await Promise.all(procs.map(kill));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) {
      const nodeDir = mkdtempSync(join(dir, `node-${port}-`));
      procs.push(
        await launch(
          ["--port", String(port), "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", ...noPersistence(nodeDir, "node")],
          port,
        ),
      );
    }
    await run("redis-cli", ["--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-replicas", "0", "--cluster-yes"], {
      timeout: 30_000,
    });
    for (const port of ports)
      await waitUntil(
        `node ${port} sees the cluster ok`,
        async () => (await redisCli(port, "CLUSTER", "INFO")).includes("cluster_state:ok"),
        30_000,
        200,
      );
    return { ports, urls: ports.map((p) => `redis://127.0.0.1:${p}`), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The node of a Redis Cluster that holds `key`'s slot, by port. */
export async function clusterPortOf(set: RedisClusterSet, key: string): Promise<number> {
  const slot = Number(await redisCli(set.ports[0]!, "CLUSTER", "KEYSLOT", key));
  for (const port of set.ports) {
    const mine = await redisCli(port, "CLUSTER", "MYID");
    const line = (await redisCli(port, "CLUSTER", "NODES")).split("\n").find((l) => l.startsWith(mine))!;
    if (slotRangesOf(line).some(([from, to]) => slot >= from && slot <= to)) return port;
  }
  throw new Error(`no node holds slot ${slot}`);
}

function slotRangesOf(nodesLine: string): [number, number][] {
  return nodesLine
    .split(" ")
    .slice(8)
    .filter((s) => /^\d+(-\d+)?$/.test(s))
    .map((s) => {
      const [from, to] = s.split("-").map(Number);
      return [from!, to ?? from!];
    });
}

function noPersistence(dir: string, name: string): string[] {
  return ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--dbfilename", `${name}.rdb`];
}
