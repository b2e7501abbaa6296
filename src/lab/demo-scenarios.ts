// The demo's scenarios by name: what `nightshift demo --scenario` accepts, checked before
// the lab (and its dependencies) is loaded.

/**
 * success, all goes well; wrong-route, verification fails after the swap; link-drop,
 * dolphin's link drops once mid-restore; fleet, a package update over a dozen guests, one
 * of which fails.
 */
export const DEMO_SCENARIOS = ['success', 'wrong-route', 'link-drop', 'fleet'] as const;
export type DemoScenario = (typeof DEMO_SCENARIOS)[number];

export function isDemoScenario(name: string): name is DemoScenario {
  return (DEMO_SCENARIOS as readonly string[]).includes(name);
}
