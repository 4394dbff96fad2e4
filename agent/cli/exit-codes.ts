/** The contract's exit codes (DESIGN.md §6). */
export const EXIT_CODES = { OK: 0, RUNTIME: 1, USAGE: 2 } as const;
