/** The demo machines' energy meters, as a consumer of the exposed value reads them. */

/** How a machine's energy meter is exposed: a kWh Double, or a UInt32 Wh register that wraps. */
export type EnergyMeter = 'kwh-double' | 'wh-uint32';

/** The UInt32 Wh register wraps here (the agent maps it with `rollover: 4294967296`). */
export const WH_ROLLOVER = 4_294_967_296;

/** The energy reading as the machine exposes it: a kWh Double, or the UInt32 Wh register (wrapped). */
export function exposedEnergy(meter: EnergyMeter, energyWh: number): number {
  return meter === 'wh-uint32' ? energyWh % WH_ROLLOVER : energyWh / 1000;
}

/**
 * kWh between two exposed readings, the way a consumer of the meter computes it:
 * a Double's difference, or the Wh register's difference across at most one wrap.
 */
export function exposedEnergyDeltaKwh(meter: EnergyMeter, first: number, last: number): number {
  if (meter === 'kwh-double') return last - first;
  const deltaWh = last >= first ? last - first : WH_ROLLOVER - first + last;
  return deltaWh / 1000;
}
