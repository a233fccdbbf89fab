// -smp topology rules (hw/core/machine-smp.c, QEMU 7.2). Cases marked QEMU
// were run against Debian's qemu-system-x86_64 7.2 -M microvm.
import { describe, expect, test } from 'vitest';
import { parseSmp } from '../../../src/cli/smp.js';
import { CliError } from '../../../src/cli/errors.js';

describe('-smp', () => {
  const cases: Array<[string, number, [number, number, number]]> = [
    // text, cpus, [sockets, cores, threads]
    ['1', 1, [1, 1, 1]],
    ['2', 2, [1, 2, 1]], // since 6.2 QEMU prefers cores over sockets
    ['cpus=4', 4, [1, 4, 1]],
    ['cpus=4,sockets=2', 4, [2, 2, 1]], // QEMU: accepted
    ['4,sockets=1,cores=2,threads=2', 4, [1, 2, 2]], // QEMU: accepted
    ['sockets=2,cores=2', 4, [2, 2, 1]], // QEMU: accepted, 4 CPUs
    ['cores=2', 2, [1, 2, 1]],
    ['threads=2', 2, [1, 1, 2]],
    ['4,cores=2', 4, [2, 2, 1]],
    ['4,cores=2,threads=2', 4, [1, 2, 2]],
    ['6,threads=2,sockets=3', 6, [3, 1, 2]],
    ['8,sockets=2,threads=2', 8, [2, 2, 2]],
    ['4,maxcpus=4', 4, [1, 4, 1]],
    ['maxcpus=4', 4, [1, 4, 1]],
    ['255', 255, [1, 255, 1]],
    ['0x10', 16, [1, 16, 1]],
    ['2,dies=1', 2, [1, 2, 1]],
  ];
  for (const [text, cpus, [sockets, cores, threads]] of cases) {
    test(`-smp ${text}`, () => {
      const r = parseSmp(text);
      expect(r.cpus).toBe(cpus);
      expect(r.topology).toEqual({ sockets, dies: 1, cores, threads, maxCpus: cpus });
    });
  }
  const errors: Array<[string, string]> = [
    ['cpus=4,sockets=3', 'Invalid CPU topology: product of the hierarchy must match maxcpus: sockets (3) * cores (1) * threads (1) != maxcpus (4)'],
    ['4,sockets=1,cores=2,threads=1', 'Invalid CPU topology: product of the hierarchy must match maxcpus: sockets (1) * cores (2) * threads (1) != maxcpus (4)'],
    ['5,cores=2', 'Invalid CPU topology: product of the hierarchy must match maxcpus: sockets (2) * cores (2) * threads (1) != maxcpus (5)'],
    ['2,maxcpus=1', 'Invalid CPU topology: maxcpus must be equal to or greater than smp: sockets (1) * cores (1) * threads (1) == maxcpus (1) < smp_cpus (2)'],
    ['300', "Invalid SMP CPUs 300. The max CPUs supported by machine 'microvm' is 255"],
    ['2,foo=1', "Parameter 'smp.foo' is unexpected"],
    ['x', "Parameter 'smp.cpus' expects integer"],
    ['2,cores=x', "Parameter 'smp.cores' expects integer"],
    ['-1', "Parameter 'smp.cpus' expects integer"],
    ['2,dies=2', "dies not supported by this machine's CPU topology"],
    ['2,clusters=2', "clusters not supported by this machine's CPU topology"],
    // QEMU 7.2 warns "Deprecated CPU topology (considered invalid)"; later QEMU refuses. We refuse.
    ['0', 'Invalid CPU topology: CPU topology parameters must be greater than zero (smp.cpus=0)'],
    ['1,sockets=0', 'Invalid CPU topology: CPU topology parameters must be greater than zero (smp.sockets=0)'],
    ['2,maxcpus=4', '-smp 2,maxcpus=4: CPU hotplug (maxcpus 4 > cpus 2) is not supported'],
  ];
  for (const [text, msg] of errors) {
    test(`-smp ${text} fails`, () => {
      let caught: unknown;
      try { parseSmp(text); } catch (e) { caught = e; }
      expect(caught).toBeInstanceOf(CliError);
      expect((caught as CliError).message).toBe(msg);
    });
  }
});
