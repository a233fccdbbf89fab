/**
 * `-smp [cpus=]N[,maxcpus=M][,sockets=S][,dies=D][,cores=C][,threads=T]`
 * with QEMU's topology rules (hw/core/machine-smp.c machine_parse_smp_config,
 * QEMU 7.2, "prefer cores over sockets" since 6.2): missing values are
 * computed from the given ones, then sockets*dies*cores*threads must equal
 * maxcpus and maxcpus >= cpus. microvm does not support dies > 1.
 */
import type { SmpTopology } from '../machine/config.js';
import { CliError } from './errors.js';
import { optsToMap, parseUint, splitOpts } from './qemu-opts.js';

/**
 * The most vCPUs we run: xAPIC IDs are 8 bits and 255 is the broadcast
 * destination (QEMU's microvm allows 288 with x2APIC; our CPUID policy caps
 * at 255, src/cpu/cpuid.ts).
 */
export const MAX_CPUS = 255;

const SMP_KEYS = new Set(['cpus', 'maxcpus', 'sockets', 'dies', 'cores', 'threads']);

export interface SmpResult {
  cpus: number;
  topology: SmpTopology;
}

export function parseSmp(text: string): SmpResult {
  const where = `-smp ${text}`;
  const pairs = splitOpts(text, where, { impliedKey: 'cpus' });
  for (const p of pairs) {
    if (!SMP_KEYS.has(p.key)) {
      if (p.key === 'clusters' || p.key === 'books' || p.key === 'drawers') {
        throw new CliError('BAD_VALUE', `${p.key} not supported by this machine's CPU topology`);
      }
      throw new CliError('BAD_VALUE', `Parameter 'smp.${p.key}' is unexpected`);
    }
  }
  const m = optsToMap(pairs, where, SMP_KEYS);
  const get = (k: string): number | undefined => {
    const v = m.get(k);
    if (v === undefined) return undefined;
    let n: number;
    try {
      n = parseUint(v, `smp.${k}`, where, 0, 0xffffffff);
    } catch {
      throw new CliError('BAD_VALUE', `Parameter 'smp.${k}' expects integer`);
    }
    // QEMU 7.2 warns "Deprecated CPU topology (considered invalid)"; later versions refuse it.
    if (n === 0) {
      throw new CliError('BAD_VALUE', `Invalid CPU topology: CPU topology parameters must be greater than zero (smp.${k}=0)`);
    }
    return n;
  };
  let cpus = get('cpus') ?? 0;
  let maxcpus = get('maxcpus') ?? 0;
  let sockets = get('sockets') ?? 0;
  const dies = get('dies') ?? 1;
  let cores = get('cores') ?? 0;
  let threads = get('threads') ?? 0;
  if (dies > 1) throw new CliError('BAD_VALUE', `dies not supported by this machine's CPU topology`);

  if (cpus === 0 && maxcpus === 0) {
    sockets = sockets || 1;
    cores = cores || 1;
    threads = threads || 1;
  } else {
    maxcpus = maxcpus || cpus;
    if (cores === 0) {
      sockets = sockets || 1;
      threads = threads || 1;
      cores = Math.floor(maxcpus / (sockets * dies * threads));
    } else if (sockets === 0) {
      threads = threads || 1;
      sockets = Math.floor(maxcpus / (dies * cores * threads));
    }
    if (threads === 0) threads = Math.floor(maxcpus / (sockets * dies * cores));
  }
  maxcpus = maxcpus || sockets * dies * cores * threads;
  cpus = cpus || maxcpus;

  const hierarchy = `sockets (${sockets}) * cores (${cores}) * threads (${threads})`;
  if (sockets * dies * cores * threads !== maxcpus) {
    throw new CliError('BAD_VALUE',
      `Invalid CPU topology: product of the hierarchy must match maxcpus: ${hierarchy} != maxcpus (${maxcpus})`);
  }
  if (maxcpus < cpus) {
    throw new CliError('BAD_VALUE',
      `Invalid CPU topology: maxcpus must be equal to or greater than smp: ${hierarchy} == maxcpus (${maxcpus}) < smp_cpus (${cpus})`);
  }
  if (maxcpus > MAX_CPUS) {
    throw new CliError('BAD_VALUE', `Invalid SMP CPUs ${maxcpus}. The max CPUs supported by machine 'microvm' is ${MAX_CPUS}`);
  }
  if (maxcpus !== cpus) {
    throw new CliError('UNSUPPORTED', `${where}: CPU hotplug (maxcpus ${maxcpus} > cpus ${cpus}) is not supported`);
  }
  return { cpus, topology: { sockets, dies, cores, threads, maxCpus: maxcpus } };
}
