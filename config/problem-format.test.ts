import { describe, expect, it } from 'vitest';
import { formatPath, formatProblems, type ConfigProblem } from './index.ts';

describe('formatting', () => {
  it('formats paths with indices in brackets and keys dotted', () => {
    expect(formatPath(['sources', 1, 'tags', 3, 'nodeId'])).toBe('sources[1].tags[3].nodeId');
    expect(formatPath([])).toBe('');
    expect(formatPath(['benchmarks', 'baselines', 'bracket.a'])).toBe('benchmarks.baselines["bracket.a"]');
  });

  it('formats problems with and without a file', () => {
    const problems: ConfigProblem[] = [
      { code: 'SFA_ERR_CONFIG_NOT_FOUND', path: '', message: 'cannot read config file x.yaml' },
      { code: 'SFA_ERR_CONFIG_INVALID', path: 'http.port', line: 12, message: 'must be at most 65535, got 70000' },
    ];
    expect(formatProblems(problems, 'x.yaml')).toBe(
      'x.yaml: cannot read config file x.yaml [SFA_ERR_CONFIG_NOT_FOUND]\nx.yaml:12: http.port: must be at most 65535, got 70000 [SFA_ERR_CONFIG_INVALID]',
    );
    expect(formatProblems(problems.slice(1))).toBe('line 12: http.port: must be at most 65535, got 70000 [SFA_ERR_CONFIG_INVALID]');
  });
});
