/**
 * What a CLI verb gets: where to print, and how to set the exit code (DESIGN.md §6:
 * 0 ok, 1 runtime failure, 2 bad usage or config). Each verb beyond run/check/simulate lives
 * in its own `<verb>-command.ts` exporting `(ctx: CliContext) => Command`, added in main.ts.
 */
import type { Command } from 'commander';

export interface CliIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

export interface CliContext {
  io: CliIo;
  setExit(code: number): void;
}

export type CommandFactory = (ctx: CliContext) => Command;
