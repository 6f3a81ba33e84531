import type { ScenarioResult, SoakOptions } from "../scenario.js";
export async function soakScenario(_options: SoakOptions): Promise<ScenarioResult> {
  return { name: "soak", passed: false, figures: [], notes: ["not written yet"], seconds: 0 };
}
