/** The package's version (`--version`): the plugin's, from the one package.json both ship in. */
export { packageVersion } from "../../plugin/src/server-kit.js";
