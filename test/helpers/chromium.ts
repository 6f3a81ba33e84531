import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

/** Debian's headless Chromium (package chromium-headless-shell); nothing downloads a browser. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/lib/chromium/chromium-headless-shell";
export const hasChromium = existsSync(CHROMIUM_PATH);

/** Starts headless Chromium as root-safe as it gets in a container: no sandbox, no /dev/shm, autoplay allowed (preview players). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required"],
  });
}
