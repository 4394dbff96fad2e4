import { describe, expect, it } from 'vitest';
import { buildScopes } from './planned-scopes.ts';
import { toWindowSet } from './windows.ts';

describe('buildScopes', () => {
  const ws = toWindowSet([
    [0, 100],
    [100, 200],
  ]);

  it('plans every window throughout by default', () => {
    const s = buildScopes(ws, undefined);
    expect([...s.scopeMs]).toEqual([100, 100]);
    expect(s.count).toBe(2);
  });

  it('intersects planned intervals with the windows', () => {
    // [50, 150) splits over both windows; [180, 250) is clipped; [120, 130) merges into [50, 150)
    const s = buildScopes(ws, [
      [180, 250],
      [50, 150],
      [120, 130],
    ]);
    expect([...s.starts.slice(0, s.count)]).toEqual([50, 100, 180]);
    expect([...s.ends.slice(0, s.count)]).toEqual([100, 150, 200]);
    expect([...s.window.slice(0, s.count)]).toEqual([0, 1, 1]);
    expect([...s.scopeMs]).toEqual([50, 70]);
  });

  it('plans nothing for an empty list', () => {
    expect([...buildScopes(ws, []).scopeMs]).toEqual([0, 0]);
  });
});
