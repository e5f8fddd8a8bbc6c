// CPU and memory of a process from /proc (Linux): utime+stime of all its threads and its resident set.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticks: number | undefined;

export function clockTicksPerSecond(): number {
  if (ticks !== undefined) return ticks;
  try {
    const v = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    ticks = Number.isFinite(v) && v > 0 ? v : 100;
  } catch {
    ticks = 100;
  }
  return ticks;
}

/** utime + stime of a process, in clock ticks (all its threads). */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after "(comm)": state is field 3, utime 14, stime 15 (1-based over the whole line).
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]);
}

/** Number of threads of a process (field 20 of /proc/<pid>/stat). */
export function threadCount(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[17]);
}

/** Resident set (VmRSS) and its peak (VmHWM) in bytes. */
export function memory(pid: number): { rss: number; peakRss: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), peakRss: kb('VmHWM') };
}

/** Busy clock ticks of the whole machine (all CPUs, everything but idle and iowait) from /proc/stat. */
export function machineBusyTicks(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest time is already in user/nice)
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  return v[0]! + v[1]! + v[2]! + v[5]! + v[6]! + v[7]!;
}

export interface CpuSample {
  t: number;
  serverTicks: number;
  machineTicks: number;
  client: NodeJS.CpuUsage;
}

/** A CPU sample of the server: one process, or several (a cluster's nodes) whose ticks are summed. */
export function cpuSample(pid: number | number[]): CpuSample {
  const serverTicks = (Array.isArray(pid) ? pid : [pid]).reduce((sum, p) => sum + cpuTicks(p), 0);
  return { t: performance.now(), serverTicks, machineTicks: machineBusyTicks(), client: process.cpuUsage() };
}

/** Server and load-generator CPU between two samples: seconds used, wall seconds and % of one core. */
/**
 * Server and load-generator CPU between two samples: seconds used, wall seconds and % of one core; `other`
 * is everything else busy on the machine (other processes: a shared machine skews the numbers).
 */
export function cpuBetween(
  a: CpuSample,
  b: CpuSample,
): { wall: number; serverCpuSeconds: number; serverCpuPercent: number; clientCpuPercent: number; otherCpuPercent: number } {
  const wall = (b.t - a.t) / 1000;
  const serverCpuSeconds = (b.serverTicks - a.serverTicks) / clockTicksPerSecond();
  const client = (b.client.user - a.client.user + b.client.system - a.client.system) / 1e6;
  const machine = (b.machineTicks - a.machineTicks) / clockTicksPerSecond();
  return {
    wall,
    serverCpuSeconds,
    serverCpuPercent: (serverCpuSeconds / wall) * 100,
    clientCpuPercent: (client / wall) * 100,
    otherCpuPercent: (Math.max(0, machine - serverCpuSeconds - client) / wall) * 100,
  };
}

export const MiB = 1024 * 1024;
