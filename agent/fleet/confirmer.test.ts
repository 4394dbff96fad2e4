import { describe, expect, it } from 'vitest';
import { waitFor } from '../../test/helpers/index.ts';
import { Confirmer } from './confirmer.ts';

const log = { warn: () => undefined };

describe('Confirmer', () => {
  it('publishes at most once per interval per agent, the latest, read back from the store', async () => {
    const sent: { topic: string; body: { instance: string; confirmedId: number; at: string } }[] = [];
    let committed = 10;
    const c = new Confirmer('p', 100, { publish: (topic, payload) => sent.push({ topic, body: JSON.parse(payload) as never }) }, async () => committed, log);
    c.update('s', 'a', 'i1', 10);
    await waitFor(() => sent.length === 1, 1000, 'the first confirmation');
    // within the interval: held back, and meanwhile another process committed further
    c.update('s', 'a', 'i1', 20);
    c.update('s', 'a', 'i1', 15);
    committed = 35;
    await new Promise((r) => setTimeout(r, 30));
    expect(sent).toHaveLength(1);
    await waitFor(() => sent.length === 2, 1000, 'the second confirmation');
    expect(sent.map((x) => [x.topic, x.body.instance, x.body.confirmedId])).toEqual([
      ['p/s/a/confirm', 'i1', 10],
      ['p/s/a/confirm', 'i1', 35],
    ]);
    expect(Number.isNaN(Date.parse(sent[1]?.body.at ?? ''))).toBe(false);
    c.stop();
  });

  it('publishes what it committed when the store cannot be read, and follows a new instance', async () => {
    const sent: { instance: string; confirmedId: number }[] = [];
    const c = new Confirmer('p', 0, { publish: (_t, payload) => sent.push(JSON.parse(payload) as never) }, async () => Promise.reject(new Error('down')), log);
    c.update('s', 'a', 'i1', 7);
    await waitFor(() => sent.length === 1, 1000, 'a confirmation');
    c.update('s', 'a', 'i2', 3);
    await waitFor(() => sent.length === 2, 1000, 'the new instance');
    expect(sent).toEqual([expect.objectContaining({ instance: 'i1', confirmedId: 7 }), expect.objectContaining({ instance: 'i2', confirmedId: 3 })]);
    c.stop();
  });
});
