import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { playWithFfmpeg } from "./ffmpeg.js";

/** Decodes captured FLV bytes with ffmpeg and returns how many video frames it decoded. */
export async function decodedFrames(flv: Buffer): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "va-decode-"));
  try {
    const file = join(dir, "capture.flv");
    writeFileSync(file, flv);
    const result = await playWithFfmpeg(file, { seconds: 30, decode: true });
    return result.code === 0 ? result.frames : 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
