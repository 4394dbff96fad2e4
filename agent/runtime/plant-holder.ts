/**
 * The Plant the agent's parts read, swappable by a config reload. KPI service, HTTP, forwarder
 * and buffer were each handed one Plant at start; they keep that reference, and it is this
 * view: every property read goes to the current Plant, so after a swap they all read the new
 * one (new windows use the new machines and shifts) without being rebuilt or told.
 */
import { Plant } from '../plant/index.ts';

export class PlantHolder {
  private current: Plant;
  /** methods bound to the current Plant, made once per Plant (a view's method is a hot path) */
  private bound = new Map<PropertyKey, unknown>();
  /** a Plant-typed view of whichever Plant is current */
  readonly view: Plant;

  constructor(initial: Plant) {
    this.current = initial;
    // the target's prototype keeps `instanceof Plant` true for the view
    this.view = new Proxy(Object.create(Plant.prototype) as Plant, {
      get: (_t, key) => {
        const v: unknown = Reflect.get(this.current, key, this.current);
        if (typeof v !== 'function') return v;
        let b = this.bound.get(key);
        if (b === undefined) this.bound.set(key, (b = (v as (...a: unknown[]) => unknown).bind(this.current)));
        return b;
      },
      has: (_t, key) => Reflect.has(this.current, key),
      ownKeys: () => Reflect.ownKeys(this.current),
      getOwnPropertyDescriptor: (_t, key) => {
        const d = Reflect.getOwnPropertyDescriptor(this.current, key);
        return d ? { ...d, configurable: true } : undefined;
      },
      set: () => false,
    });
  }

  get plant(): Plant {
    return this.current;
  }

  swap(next: Plant): void {
    this.current = next;
    this.bound = new Map();
  }
}
