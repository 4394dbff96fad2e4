/**
 * The Plant the agent's parts read, swappable by a config reload. KPI service, HTTP, forwarder
 * and buffer were each handed one Plant at start; they keep that reference, and it is this
 * view: every property read goes to the current Plant, so after a swap they all read the new
 * one (new windows use the new machines and shifts) without being rebuilt or told.
 */
import { Plant } from '../plant/index.ts';

export class PlantHolder {
  private current: Plant;
  /**
   * one forwarder per method, made once: it calls the method of whichever Plant is current at
   * call time, so a part that kept `plant.series` (or bound it) follows a swap as well
   */
  private readonly methods = new Map<PropertyKey, unknown>();
  /** a Plant-typed view of whichever Plant is current */
  readonly view: Plant;

  constructor(initial: Plant) {
    this.current = initial;
    // the target's prototype keeps `instanceof Plant` true for the view
    this.view = new Proxy(Object.create(Plant.prototype) as Plant, {
      get: (_t, key) => {
        const v: unknown = Reflect.get(this.current, key, this.current);
        if (typeof v !== 'function') return v;
        let m = this.methods.get(key);
        if (m === undefined) {
          m = (...args: unknown[]): unknown => (Reflect.get(this.current, key) as (...a: unknown[]) => unknown).apply(this.current, args);
          this.methods.set(key, m);
        }
        return m;
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
  }
}
