import { spawn } from "node:child_process";
import { createDecipheriv } from "node:crypto";

/** One segment of a media playlist: its URI, media sequence number and the key URI in force (null: clear). */
export interface KeyedSegment {
  uri: string;
  sequence: number;
  keyUri: string | null;
  /** The key tag's explicit IV, when it has one. */
  iv: Buffer | null;
}

/** A media playlist's segments, each with the `#EXT-X-KEY` that applies to it (RFC 8216 §4.3.2.4). */
export function keyedSegmentsOf(playlist: string): KeyedSegment[] {
  let sequence = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(playlist)?.[1] ?? 0);
  let keyUri: string | null = null;
  let iv: Buffer | null = null;
  const out: KeyedSegment[] = [];
  for (const line of playlist.split("\n").map((l) => l.trim())) {
    if (line.startsWith("#EXT-X-KEY:")) {
      keyUri = /METHOD=NONE/.test(line) ? null : (/URI="([^"]+)"/.exec(line)?.[1] ?? null);
      const hex = /IV=0x([0-9a-fA-F]{32})/.exec(line)?.[1];
      iv = hex === undefined ? null : Buffer.from(hex, "hex");
    } else if (line !== "" && !line.startsWith("#")) {
      out.push({ uri: line, sequence, keyUri, iv });
      sequence += 1;
    }
  }
  return out;
}

/** AES-128-CBC with PKCS#7 padding; the IV is the tag's, else the media sequence number (big-endian, 16 bytes). */
export function decryptSegment(body: Buffer, key: Buffer, segment: KeyedSegment): Buffer {
  const iv = segment.iv ?? Buffer.alloc(16);
  if (segment.iv === null) iv.writeBigUInt64BE(BigInt(segment.sequence), 8);
  const decipher = createDecipheriv("aes-128-cbc", key, iv);
  return Buffer.concat([decipher.update(body), decipher.final()]);
}

/** A child's exit code and output, without blocking the event loop (the server under test runs in it); killed after `timeoutMs`. */
export function runAsync(
  command: string,
  args: string[],
  timeoutMs = 60000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const killer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  return new Promise((resolve) =>
    child.once("close", (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    }),
  );
}

/** The first video frame ffprobe decodes from a file: its size, or null when none decodes. */
export async function firstVideoFrameOf(file: string): Promise<{ width: number; height: number } | null> {
  const result = await runAsync("ffprobe", [
    "-v",
    "error",
    "-select_streams",
    "v:0",
    "-read_intervals",
    "%+#1",
    "-show_frames",
    "-show_entries",
    "frame=width,height,pict_type",
    "-of",
    "json",
    file,
  ]);
  if (result.code !== 0) return null;
  const frames = (JSON.parse(result.stdout) as { frames?: { width?: number; height?: number }[] }).frames ?? [];
  const frame = frames.find((f) => (f.width ?? 0) > 0);
  return frame === undefined ? null : { width: frame.width!, height: frame.height! };
}
