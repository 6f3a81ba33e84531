// Numbers for people: 1.2 GB, 3 h 12 min, 850 kbit/s. Every function returns plain text.

const BYTE_UNITS = ["B", "KB", "MB", "GB", "TB", "PB"];

/** 1234567 → "1.2 MB" (decimal units, one decimal below 10). */
export function formatBytes(bytes) {
  if (!Number.isFinite(bytes) || bytes < 0) return "—";
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < BYTE_UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  const digits = unit === 0 || value >= 10 ? 0 : 1;
  return `${value.toFixed(digits)} ${BYTE_UNITS[unit]}`;
}

/** Bytes per second → "850 kbit/s", "2.4 Mbit/s". */
export function formatRate(bytesPerSec) {
  if (!Number.isFinite(bytesPerSec) || bytesPerSec < 0) return "—";
  const bits = bytesPerSec * 8;
  if (bits < 1000) return `${Math.round(bits)} bit/s`;
  if (bits < 1e6) return `${Math.round(bits / 1000)} kbit/s`;
  if (bits < 1e9) return `${(bits / 1e6).toFixed(bits < 1e7 ? 1 : 0)} Mbit/s`;
  return `${(bits / 1e9).toFixed(1)} Gbit/s`;
}

/** Seconds → "45 s", "12 min", "3 h 12 min", "2 d 4 h". */
export function formatDuration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return "—";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return min % 60 === 0 ? `${h} h` : `${h} h ${min % 60} min`;
  const d = Math.floor(h / 24);
  return h % 24 === 0 ? `${d} d` : `${d} d ${h % 24} h`;
}

/** A count with thousands separators: 10000 → "10,000". */
export function formatCount(n) {
  return Number.isFinite(n) ? n.toLocaleString("en-US") : "—";
}

/** ms since the epoch → local "14:03:27" today, else "2 Dec 14:03". */
export function formatTime(ms) {
  if (!Number.isFinite(ms)) return "—";
  const date = new Date(ms);
  const today = new Date();
  if (date.toDateString() === today.toDateString()) return date.toLocaleTimeString("en-GB");
  return date.toLocaleString("en-GB", { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
}
