// What a scenario module exports for bench/cli.ts.
import type { FlagSpec, Flags } from './args.js';
import type { Progress } from './report.js';

export interface ScenarioOutput {
  /** One line describing the load and the machine. */
  title: string;
  table: string;
  /** Extra lines printed after the table (goals, client errors, server log). */
  notes: string[];
  /** Every number of the table, printed as `RESULT <json>` for tools. */
  result: Record<string, unknown>;
}

export interface Scenario {
  name: string;
  summary: string;
  usage: string;
  flags: FlagSpec;
  run(flags: Flags, progress: Progress): Promise<ScenarioOutput>;
}

export function machine(): string {
  return `${process.platform}/${process.arch}, node ${process.version}`;
}

/** A scenario cannot run on this machine (e.g. Janus is not installed): printed without a stack, exit code 1. */
export class UnavailableError extends Error {}
