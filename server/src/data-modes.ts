import { chmodSync, lstatSync, mkdirSync, readdirSync } from "node:fs";
import { join, relative, sep } from "node:path";

/**
 * Who may read what the bundled server keeps on disk: viewers' addresses and user agents (the ledger),
 * the API token, and the media itself. By default its owner only, whatever the umask it was started
 * with: directories 0700, files 0600. With `server.hlsGroupReadable` (an nginx edge that serves the HLS
 * directory as another user in the server's group, README "Edge mode") the HLS tree is 0750/0640 and a
 * data directory that holds it 0710 (the group may pass through it, not list it); the rest stays private.
 */
export interface DataModes {
  readonly dirMode: number;
  readonly fileMode: number;
  readonly hlsDirMode: number;
  readonly hlsFileMode: number;
  /** The process umask the bin sets before anything is written: ffmpeg creates segments with it. */
  readonly umask: number;
}

export function dataModesFor(hlsGroupReadable: boolean): DataModes {
  return hlsGroupReadable
    ? { dirMode: 0o700, fileMode: 0o600, hlsDirMode: 0o750, hlsFileMode: 0o640, umask: 0o027 }
    : { dirMode: 0o700, fileMode: 0o600, hlsDirMode: 0o700, hlsFileMode: 0o600, umask: 0o077 };
}

/**
 * Creates the data directory if missing and takes group and other access away from it and from
 * everything already in it (a data directory an older version or another umask left 0755/0644), except
 * the HLS directory, which `start` recreates. Symbolic links are left as they are.
 */
export function makeDataDirPrivate(dataDir: string, hlsRoot: string, modes: DataModes, privateDirs: readonly string[] = []): void {
  mkdirSync(dataDir, { recursive: true, mode: modes.dirMode });
  // Folders others write into (NMS's store): made here 0700, so that what they hold stays private even
  // when the umask lets the group read it (server.hlsGroupReadable).
  for (const dir of privateDirs) mkdirSync(dir, { recursive: true, mode: modes.dirMode });
  const hlsInside = isInside(hlsRoot, dataDir);
  // The group reaches an HLS directory inside the data directory through it: search, not read.
  chmodSync(dataDir, hlsInside && modes.hlsDirMode !== modes.dirMode ? 0o710 : modes.dirMode);
  for (const name of readdirSync(dataDir)) narrow(join(dataDir, name), hlsRoot);
}

/** Creates (or re-moulds) a directory of the HLS tree with its mode, whatever the umask. */
export function makeHlsDir(dir: string, modes: DataModes): void {
  mkdirSync(dir, { recursive: true, mode: modes.hlsDirMode });
  chmodSync(dir, modes.hlsDirMode);
}

function narrow(path: string, skip: string): void {
  if (path === skip) return;
  const stat = lstatSync(path, { throwIfNoEntry: false });
  if (stat === undefined || stat.isSymbolicLink()) return;
  if ((stat.mode & 0o077) !== 0) chmodSync(path, stat.mode & 0o700);
  if (stat.isDirectory()) for (const name of readdirSync(path)) narrow(join(path, name), skip);
}

function isInside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel !== "" && !rel.startsWith(`..${sep}`) && rel !== "..";
}
