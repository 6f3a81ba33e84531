/**
 * A tiny MaxMind DB (`.mmdb`) writer for tests: an IPv4 database (record size 24) of a handful of
 * networks, each with a flat record of strings and unsigned integers, following the MaxMind DB file
 * format spec (https://maxmind.github.io/MaxMind-DB/): a binary search tree of 6-byte nodes, 16 zero
 * bytes, the data section, then `\xAB\xCD\xEFMaxMind.com` and the metadata map. Enough to build an
 * ASN database (`autonomous_system_number`, `autonomous_system_organization`) no package ships.
 */
export type MmdbValue = string | number;

export interface MmdbNetwork {
  /** An IPv4 CIDR, e.g. `198.51.100.0/24`. */
  cidr: string;
  record: Readonly<Record<string, MmdbValue>>;
}

const TYPE_STRING = 2;
const TYPE_MAP = 7;
const TYPE_UINT16 = 5;
const TYPE_UINT32 = 6;
const TYPE_UINT64 = 9;
const TYPE_ARRAY = 11;

/** A control byte (type in the top 3 bits, size below; extended types in a second byte), sizes up to 284. */
function control(type: number, size: number): Buffer {
  if (size > 284) throw new Error("mmdb-writer: sizes over 284 are not supported");
  const low = size < 29 ? size : 29;
  const first = type <= 7 ? [(type << 5) | low] : [low, type - 7];
  return Buffer.from(size < 29 ? first : [...first, size - 29]);
}

function uint(type: number, value: number | bigint): Buffer {
  let hex = BigInt(value).toString(16);
  if (hex === "0") hex = "";
  if (hex.length % 2 === 1) hex = `0${hex}`;
  const bytes = Buffer.from(hex, "hex");
  return Buffer.concat([control(type, bytes.length), bytes]);
}

function string(text: string): Buffer {
  const bytes = Buffer.from(text, "utf8");
  return Buffer.concat([control(TYPE_STRING, bytes.length), bytes]);
}

function value(v: MmdbValue | readonly string[] | Record<string, unknown>): Buffer {
  if (typeof v === "string") return string(v);
  if (typeof v === "number") return uint(v > 0xffff ? TYPE_UINT32 : TYPE_UINT16, v);
  if (Array.isArray(v)) return Buffer.concat([control(TYPE_ARRAY, v.length), ...v.map((s) => string(s as string))]);
  return map(v as Record<string, MmdbValue>);
}

function map(record: Readonly<Record<string, unknown>>): Buffer {
  const entries = Object.entries(record);
  return Buffer.concat([control(TYPE_MAP, entries.length), ...entries.flatMap(([k, v]) => [string(k), value(v as MmdbValue)])]);
}

function bitsOf(cidr: string): number[] {
  const [ip, prefix] = cidr.split("/") as [string, string];
  const n = ip.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
  return Array.from({ length: Number(prefix) }, (_, i) => Math.floor(n / 2 ** (31 - i)) % 2);
}

/** The bytes of an IPv4 MaxMind DB holding `networks` (non-overlapping), typed `databaseType`. */
export function writeMmdb(networks: readonly MmdbNetwork[], databaseType = "GeoLite2-ASN"): Buffer {
  // Records: a node index, EMPTY, or a data offset (tagged) until the node count is known.
  const EMPTY = -1;
  const nodes: [number | { data: number }, number | { data: number }][] = [[EMPTY, EMPTY]];
  const blobs: Buffer[] = [];
  let dataSize = 0;
  for (const network of networks) {
    const blob = map(network.record);
    const offset = dataSize;
    blobs.push(blob);
    dataSize += blob.length;
    const bits = bitsOf(network.cidr);
    let node = 0;
    bits.forEach((bit, i) => {
      const here = nodes[node]!;
      if (i === bits.length - 1) {
        here[bit] = { data: offset };
        return;
      }
      if (here[bit] === EMPTY) {
        nodes.push([EMPTY, EMPTY]);
        here[bit] = nodes.length - 1;
      }
      node = here[bit] as number;
    });
  }
  const nodeCount = nodes.length;
  const tree = Buffer.alloc(nodeCount * 6);
  const recordOf = (r: number | { data: number }) => (typeof r === "number" ? (r === EMPTY ? nodeCount : r) : nodeCount + 16 + r.data);
  nodes.forEach(([left, right], i) => {
    tree.writeUIntBE(recordOf(left), i * 6, 3);
    tree.writeUIntBE(recordOf(right), i * 6 + 3, 3);
  });
  const metadata = Buffer.concat([
    control(TYPE_MAP, 9),
    string("node_count"),
    uint(TYPE_UINT32, nodeCount),
    string("record_size"),
    uint(TYPE_UINT16, 24),
    string("ip_version"),
    uint(TYPE_UINT16, 4),
    string("database_type"),
    string(databaseType),
    string("languages"),
    value(["en"]),
    string("binary_format_major_version"),
    uint(TYPE_UINT16, 2),
    string("binary_format_minor_version"),
    uint(TYPE_UINT16, 0),
    string("build_epoch"),
    uint(TYPE_UINT64, 1_700_000_000),
    string("description"),
    map({ en: "test database" }),
  ]);
  return Buffer.concat([tree, Buffer.alloc(16), ...blobs, Buffer.from("\xab\xcd\xefMaxMind.com", "latin1"), metadata]);
}
