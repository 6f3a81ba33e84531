// The resolve hook plugin-source-hooks.mjs registers (it runs off the main thread, so it is its own module).
const REPO = new URL("../../", import.meta.url).href;
const SOURCES = { "nms-viewer-auth": "plugin/src/index.ts", "nms-viewer-auth/server-kit": "plugin/src/server-kit.ts" };

export async function resolve(specifier, context, next) {
  const source = SOURCES[specifier];
  const parent = context.parentURL ?? "";
  const fromRepoSource = parent.startsWith(REPO) && /\.[cm]?ts$/.test(parent) && !/\/(node_modules|dist)\//.test(parent.slice(REPO.length));
  return source !== undefined && fromRepoSource ? next(new URL(source, REPO).href, context) : next(specifier, context);
}
