// Snapshots: boot console.elf once, save the machine at its prompt, and
// start ten machines from that point; each one behaves the same (identical
// console output for the same input, same exit). Through a file too; the
// RAM kept is only the non-zero pages. Runs on every accelerator that has
// Accelerator.saveState/restoreState (KVM here; the JIT once it does).
import { describe, expect, test } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startVm, Vm, parseSnapshot, NotSupportedError, SnapshotError, FramePort, type AcceleratorSnapshot } from '../../src/index.js';
import { ETHERTYPE_ARP, buildArp, buildEth, parseArp, parseEth } from '../../src/net/packet.js';
import { acceleratorsFor, cpuFor, debugExit, fw, haveFirmware, jitLacks, MiB } from './library-helpers.js';

const HOST_MAC = new Uint8Array([0x02, 0, 0, 0, 0, 0x99]);
const HOST_IP = 0x0a000202;
const GUEST_IP = 0x0a00020f;

describe.skipIf(!haveFirmware)('library snapshots', () => {
  for (const { accel, skip } of acceleratorsFor('saveState')) {
    describe.skipIf(skip !== undefined)(`on ${accel}${skip ? ` (${skip})` : ''}`, () => {
      test('a snapshot at the prompt restored 10 times gives identical behaviour', async () => {
        let snap: Uint8Array;
        {
          await using vm = await startVm({ kernel: fw('console.elf'), accel, cpu: cpuFor(accel), memory: 256 * MiB, devices: [debugExit] });
          await vm.waitFor('> ', { timeout: 60_000 });
          snap = await vm.snapshot();
          // The original goes on running after the snapshot.
          vm.send('echo original\r');
          await vm.waitFor('original\r\n> ', { timeout: 20_000 });
        }
        const parsed = parseSnapshot(snap);
        // Only touched pages are kept: far less than the 256 MiB of RAM.
        expect(parsed.ramBytes).toBeGreaterThan(0);
        expect(parsed.ramBytes).toBeLessThan(8 * MiB);
        expect(parsed.config.memory).toBe(256 * MiB);

        const outputs: string[] = [];
        for (let i = 0; i < 10; i++) {
          await using vm = await Vm.restore(snap);
          vm.send('echo forked\r');
          await vm.waitFor('forked\r\n> ', { timeout: 20_000 });
          vm.send('exit 2\r');
          expect(await vm.exited).toEqual({ kind: 'debug-exit', code: 5, status: 5 });
          outputs.push(vm.output());
        }
        // The restored guest starts after the prompt: it prints only what follows.
        expect(outputs[0]).toBe('echo forked\r\nforked\r\n> exit 2\r\nbye (isa-debug-exit value 2)\r\n');
        expect(new Set(outputs).size).toBe(1);

        // Forks run concurrently too, each with its own RAM.
        const forks = await Promise.all([0, 1, 2, 3].map(() => Vm.restore(snap)));
        try {
          forks.forEach((f, i) => f.send(`echo fork-${i}\r`));
          await Promise.all(forks.map((f, i) => f.waitFor(`fork-${i}\r\n> `, { timeout: 20_000 })));
          forks.forEach((f, i) => expect(f.output()).toBe(`echo fork-${i}\r\nfork-${i}\r\n> `));
        } finally {
          await Promise.all(forks.map((f) => f.stop()));
        }
      }, 180_000);

      test('save to a file, restore paused, registers survive; a reset reboots the saved kernel', async () => {
        const dir = mkdtempSync(join(tmpdir(), 'mvm-snap-'));
        try {
          const file = join(dir, 'console.snap');
          let rip: bigint;
          {
            await using vm = await startVm({ kernel: fw('console.elf'), accel, cpu: cpuFor(accel), memory: 512 * MiB });
            await vm.waitFor('> ', { timeout: 60_000 });
            await vm.pause();
            rip = vm.registers().regs.rip;
            await vm.saveSnapshot(file);
          }
          expect(statSync(file).size).toBeLessThan(8 * MiB);
          await using r = await Vm.restore(file, { paused: true });
          expect(r.state).toBe('paused');
          expect(r.registers().regs.rip).toBe(rip);
          if (accel === 'kvm') {
            // The VM clock (kvmclock's base) goes on from the saved value, not from 0.
            const clock = (s: AcceleratorSnapshot): bigint | undefined => {
              const c = (s.extra as { clock?: Uint8Array } | undefined)?.clock;
              return c ? new DataView(c.buffer, c.byteOffset, c.byteLength).getBigUint64(0, true) : undefined;
            };
            const saved = clock(parseSnapshot(readFileSync(file)).accel);
            expect(saved).toBeGreaterThan(0n);
            expect(clock(r.machine.accelerator!.saveState!())).toBeGreaterThanOrEqual(saved!);
          }
          r.resume();
          r.send('echo from-file\r');
          await r.waitFor('from-file\r\n> ', { timeout: 20_000 });
          await r.reset();
          await r.waitFor('console ready', { timeout: 60_000 });
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }, 180_000);

      test('a started virtio-net guest forks: each restored machine answers ARP on its own wire', async () => {
        let snap: Uint8Array;
        {
          await using vm = await startVm({
            kernel: fw('virtio-net.elf'), accel, cpu: cpuFor(accel), memory: 64 * MiB,
            netdevs: [{ kind: 'stream', id: 'n0' }], devices: [{ driver: 'virtio-net-device', netdev: 'n0' }],
          });
          await vm.waitFor('virtio-net ready', { timeout: 60_000 });
          snap = await vm.snapshot();
          expect(vm.state).toBe('running');
        }
        expect(parseSnapshot(snap).devices.virtio).toBeDefined();
        for (let i = 0; i < 2; i++) {
          const port = new FramePort();
          await using fork = await Vm.restore(snap, { streamPorts: { n0: port } });
          expect(fork.net('n0')).toBe(port);
          port.send(buildEth(new Uint8Array(6).fill(0xff), HOST_MAC, ETHERTYPE_ARP, buildArp(1, HOST_MAC, HOST_IP, new Uint8Array(6), GUEST_IP)));
          const reply = await port.nextFrame((f) => parseEth(f)?.type === ETHERTYPE_ARP && parseArp(parseEth(f)!.payload)?.op === 2, 30_000);
          expect(parseArp(parseEth(reply)!.payload)!.spa).toBe(GUEST_IP);
          await fork.waitFor('arp: who-has 10.0.2.15 from 10.0.2.2', { timeout: 20_000 });
        }
      }, 120_000);
    });
  }

  test.skipIf(jitLacks('saveState') === undefined)('an accelerator without saveState: "not supported by this accelerator"', async () => {
    await using vm = await startVm({ kernel: fw('console.elf'), accel: 'jit', memory: 64 * MiB });
    await vm.waitFor('> ', { timeout: 60_000 });
    const err = await vm.snapshot().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotSupportedError);
    expect((err as Error).message).toBe('taking a snapshot is not supported by this accelerator (jit: Accelerator.saveState is missing)');
    // The machine runs on.
    expect(vm.state).toBe('running');
  }, 90_000);

  test('corrupt snapshots are refused', () => {
    expect(() => parseSnapshot(new Uint8Array(4))).toThrow(SnapshotError);
    const bad = new Uint8Array(64);
    bad.set(Buffer.from('MVMSNAP1'), 0);
    new DataView(bad.buffer).setUint32(8, 1000, true);
    expect(() => parseSnapshot(bad)).toThrow(/header runs past the end/);
  });
});
