/** Broken configs for the loader's tests: the lines they share, and their problems. */
import { formatProblems, loadConfigText, type ConfigProblem } from './index.ts';

// lines 1-2 of every broken config in the tests
export const head = `site: { id: plant-a, timezone: Europe/Berlin }
agent: { id: edge-01 }
`;
export const machines = `machines:
  - { id: printer-1 }
  - { id: printer-2 }
`;

export function problemsOf(text: string, env: Record<string, string | undefined> = {}): ConfigProblem[] {
  const res = loadConfigText(text, { env });
  if (res.ok) throw new Error('expected the config to be invalid');
  return res.problems;
}

/** The one problem at `path`; fails listing all problems when there is none. */
export function problemAt(text: string, path: string, env: Record<string, string | undefined> = {}): ConfigProblem {
  const problems = problemsOf(text, env);
  const p = problems.find((x) => x.path === path);
  if (!p) throw new Error(`no problem at ${path}; got:\n${formatProblems(problems)}`);
  return p;
}
