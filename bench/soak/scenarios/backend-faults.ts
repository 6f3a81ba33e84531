import type { ScenarioResult, SoakOptions } from "../scenario.js";
export async function backendFaultsScenario(_options: SoakOptions): Promise<ScenarioResult> {
  return { name: "backend-faults", passed: false, figures: [], notes: ["not written yet"], seconds: 0 };
}
