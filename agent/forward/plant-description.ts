/**
 * The plant description published retained on `{prefix}/{site}/{agent}/plant` on every connect,
 * before the backlog: what the fleet needs to roll machines up into lines, products and sites and
 * to cut days in the site's zone (README "Upstream").
 */

/** What the description needs of the plant. */
export interface DescribedPlant {
  site: { id: string; name: string; timezone: string };
  agentId: string;
  shifts: readonly { name: string; start: string; end: string; days?: number[] | undefined }[];
  machineIds(): string[];
  machine(id: string): { id: string; name: string; line: string; product: string | null; idealCycleTimeS: number | null };
}

export interface PlantDescription {
  agent: string;
  site: string;
  instance: string;
  siteName: string;
  timezone: string;
  machines: { id: string; name: string; line: string; product: string | null; idealCycleTimeS: number | null }[];
  shifts: { name: string; start: string; end: string; days?: number[] }[];
  /** the products the machines make (distinct, sorted) */
  products: string[];
  /** the lines (distinct, sorted) */
  lines: string[];
  /** when it was published (ISO 8601) */
  at: string;
}

export function describePlant(plant: DescribedPlant, instance: string, now = Date.now()): PlantDescription {
  const machines = plant.machineIds().map((id) => {
    const m = plant.machine(id);
    return { id: m.id, name: m.name, line: m.line, product: m.product, idealCycleTimeS: m.idealCycleTimeS };
  });
  const products = [...new Set(machines.flatMap((m) => (m.product === null ? [] : [m.product])))].sort();
  const lines = [...new Set(machines.map((m) => m.line))].sort();
  return {
    agent: plant.agentId,
    site: plant.site.id,
    instance,
    siteName: plant.site.name,
    timezone: plant.site.timezone,
    machines,
    shifts: plant.shifts.map((s) => ({ name: s.name, start: s.start, end: s.end, ...(s.days ? { days: [...s.days] } : {}) })),
    products,
    lines,
    at: new Date(now).toISOString(),
  };
}
