/**
 * An order event from an MES (DESIGN.md §3), stored as a sample of signal `order_event` whose
 * value is the event as JSON (its time is the sample's `ts`, its machine the sample's). The
 * input boundary (drivers/mqtt) encodes it; the KPI engine decodes it here, once per sample.
 */
import type { SampleValue } from './sample.ts';

export const ORDER_EVENT_KINDS = ['released', 'started', 'completed'] as const;
export type OrderEventKind = (typeof ORDER_EVENT_KINDS)[number];

export interface OrderEvent {
  orderId: string;
  event: OrderEventKind;
  product?: string;
  quantity?: number;
}

export function isOrderEventKind(v: unknown): v is OrderEventKind {
  return typeof v === 'string' && (ORDER_EVENT_KINDS as readonly string[]).includes(v);
}

/** The stored value: `{"orderId","event","product"?,"quantity"?}` in that order. */
export function encodeOrderEventValue(e: OrderEvent): string {
  return JSON.stringify({
    orderId: e.orderId,
    event: e.event,
    ...(e.product !== undefined ? { product: e.product } : {}),
    ...(e.quantity !== undefined ? { quantity: e.quantity } : {}),
  });
}

/** A stored value as an event; null for anything that is not one (counted by the caller). */
export function decodeOrderEventValue(value: SampleValue): OrderEvent | null {
  if (typeof value !== 'string') return null;
  let d: unknown;
  try {
    d = JSON.parse(value);
  } catch {
    return null;
  }
  if (d === null || typeof d !== 'object') return null;
  const o = d as Record<string, unknown>;
  if (typeof o.orderId !== 'string' || o.orderId === '' || !isOrderEventKind(o.event)) return null;
  return {
    orderId: o.orderId,
    event: o.event,
    ...(typeof o.product === 'string' ? { product: o.product } : {}),
    ...(typeof o.quantity === 'number' && Number.isFinite(o.quantity) ? { quantity: o.quantity } : {}),
  };
}
