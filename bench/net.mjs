#!/usr/bin/env node
/**
 * Network benchmark (issue 6): latency and throughput between the host and
 * the virtio-net guest (firmware/virtio-net: our own driver, UDP echo on
 * port 7), through the `socket` netdev (QEMU's stream framing), for
 *   - microvm-ts on the JIT (and on KVM when /dev/kvm works),
 *   - QEMU (`qemu-system-x86_64 -machine microvm`, TCG, and KVM if usable),
 * with the same backend and the same traffic generator: this process is the
 * other end of the wire (a TCP server speaking 4-byte length + frame).
 *
 * Reported per target: UDP echo round-trip latency (median, p99) for 64-byte
 * datagrams sent one at a time, and echo throughput (Mbit/s of payload each
 * way) with 1400-byte datagrams and 16 in flight. microvm-ts runs in this
 * process (its device model shares the event loop with the generator);
 * QEMU runs as a child process.
 *
 * --backend=user instead runs both VMMs with `-netdev user,hostfwd=udp::PORT-:7`
 * (microvm-ts: src/net/user.ts in TypeScript; QEMU: libslirp) and the
 * generator talks to the guest through host UDP sockets. `--slirp-only`
 * measures src/net/user.ts alone (host datagrams -> forwarded frame -> a fake
 * guest that echoes at once -> host datagram), without any guest CPU.
 *
 * Usage: node bench/net.mjs [--backend=socket|user] [--slirp-only] [--rounds=200] [--packets=2000] [--only=jit,kvm,qemu-tcg,qemu-kvm] [--jit-mode=poll|irq] [--json]
 *   (after `npm run build`; MICROVM_DIST=<dir> uses another build of src/)
 */
import { createServer } from 'node:net';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const dist = process.env.MICROVM_DIST ?? `${root}dist`;
const arg = (k, d) => { const a = process.argv.find((x) => x.startsWith(`--${k}=`)); return a ? a.slice(k.length + 3) : d; };
const ROUNDS = Number(arg('rounds', 200));
const PACKETS = Number(arg('packets', 2000));
const ONLY = arg('only', 'jit,kvm,qemu-tcg,qemu-kvm').split(',');
const json = process.argv.includes('--json');
/** The guest's completion mode on the JIT (irq: HLT until the virtio interrupt; poll: spin on the rings). */
const JIT_MODE = arg('jit-mode', 'irq');
const elf = `${root}firmware/out/virtio-net.elf`;
if (!existsSync(elf)) { console.error(`missing ${elf}: run npm run build`); process.exit(1); }

const { Microvm, resolveConfig } = await import(pathToFileURL(`${dist}/index.js`).href);
const { attachVirtioDevices } = await import(pathToFileURL(`${dist}/virtio/index.js`).href);
const P = await import(pathToFileURL(`${dist}/net/packet.js`).href);
const { FrameDecoder, encodeFrame } = await import(pathToFileURL(`${dist}/net/socket.js`).href);
const { UserNetdev } = await import(pathToFileURL(`${dist}/net/user.js`).href);
const { createSocket } = await import('node:dgram');
const BACKEND = arg('backend', 'socket');
const { kvmAvailability } = await import(pathToFileURL(`${dist}/kvm/accelerator.js`).href);

const HOST_MAC = new Uint8Array([2, 0, 0, 0, 0, 1]);
const GUEST_MAC = new Uint8Array([0x52, 0x54, 0, 0x12, 0x34, 0x56]);
const HOST_IP = 0x0a000202, GUEST_IP = 0x0a00020f;

/** A TCP server that is the other end of the wire; resolves with a port and a "wire" once the VMM connects. */
async function wire() {
  let onConn;
  const connected = new Promise((r) => { onConn = r; });
  const server = createServer((sock) => {
    sock.setNoDelay(true);
    const listeners = new Set();
    const dec = new FrameDecoder((f) => { for (const l of listeners) l(f); });
    sock.on('data', (d) => dec.push(d));
    sock.on('error', () => {});
    onConn({ send: (f) => sock.write(encodeFrame(f)), on: (l) => listeners.add(l), off: (l) => listeners.delete(l), close: () => sock.destroy() });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { port: server.address().port, connected, close: () => server.close() };
}

function udpTo(sport, payload) {
  return P.buildEth(GUEST_MAC, HOST_MAC, P.ETHERTYPE_IPV4, P.buildUdp(HOST_IP, GUEST_IP, sport, 7, payload));
}
function udpFrom(f) {
  const e = P.parseEth(f);
  if (!e || e.type !== P.ETHERTYPE_IPV4) return undefined;
  const ip = P.parseIpv4(e.payload);
  return ip && ip.proto === P.IPPROTO_UDP ? P.parseUdp(ip) : undefined;
}

async function measure(w) {
  // ARP first (the guest learns nothing from it, but it proves the path), then warm up.
  await new Promise((resolve) => {
    const l = (f) => { const e = P.parseEth(f); if (e?.type === P.ETHERTYPE_ARP) { w.off(l); clearInterval(t); resolve(); } };
    w.on(l);
    const ask = () => w.send(P.buildEth(new Uint8Array(6).fill(255), HOST_MAC, P.ETHERTYPE_ARP, P.buildArp(1, HOST_MAC, HOST_IP, new Uint8Array(6), GUEST_IP)));
    const t = setInterval(ask, 500);
    ask();
  });
  // Latency: one 64-byte datagram at a time.
  const rtts = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = process.hrtime.bigint();
    await new Promise((resolve) => {
      const l = (f) => { const u = udpFrom(f); if (u && u.dport === 50000 + (i % 1000)) { w.off(l); clearTimeout(to); resolve(); } };
      const to = setTimeout(() => { w.off(l); resolve(); }, 2000);
      w.on(l);
      w.send(udpTo(50000 + (i % 1000), new Uint8Array(64)));
    });
    rtts.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  rtts.sort((a, b) => a - b);
  // Throughput: 1400-byte datagrams, 16 in flight; lost ones are re-sent after 200 ms.
  const size = 1400, window = 16;
  let sent = 0, echoed = 0;
  const t0 = process.hrtime.bigint();
  const started = Date.now();
  await new Promise((resolve) => {
    let last = Date.now();
    const l = (f) => {
      const u = udpFrom(f);
      if (!u || u.dport !== 40000) return;
      echoed++;
      last = Date.now();
      if (echoed >= PACKETS) { w.off(l); clearInterval(watch); resolve(); return; }
      if (sent < PACKETS) { sent++; w.send(udpTo(40000, new Uint8Array(size))); }
    };
    w.on(l);
    const watch = setInterval(() => {
      if (Date.now() - last > 200) { for (let k = 0; k < window && sent - echoed < window * 2; k++) { w.send(udpTo(40000, new Uint8Array(size))); sent++; } last = Date.now(); }
      if (Date.now() - started > 120000) { w.off(l); clearInterval(watch); resolve(); }
    }, 50);
    for (; sent < window; sent++) w.send(udpTo(40000, new Uint8Array(size)));
  });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  return {
    latencyMedianUs: Math.round(rtts[Math.floor(rtts.length / 2)]), latencyP99Us: Math.round(rtts[Math.floor(rtts.length * 0.99)]),
    throughputMbit: +(echoed * size * 8 / secs / 1e6).toFixed(2), packetsPerSec: Math.round(echoed / secs), echoed, sent,
  };
}

/** UDP echo through a host port (hostfwd): latency one at a time, then throughput with 16 in flight. */
async function measureUdp(port) {
  const s = createSocket('udp4');
  await new Promise((r) => s.bind(0, '127.0.0.1', r));
  const listeners = new Set();
  s.on('message', (m) => { for (const l of listeners) l(m); });
  let seq = 0;
  const rtt = (payload, timeoutMs) => new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const id = ++seq;
    payload.writeUInt32BE(id, 0); // match the echo, not a late reply to an earlier datagram
    const l = (m) => { if (m.length < 4 || m.readUInt32BE(0) !== id) return; listeners.delete(l); clearTimeout(to); resolve(Number(process.hrtime.bigint() - t0) / 1000); };
    const to = setTimeout(() => { listeners.delete(l); resolve(undefined); }, timeoutMs);
    listeners.add(l);
    s.send(payload, port, '127.0.0.1');
  });
  // warm up until the guest answers (ARP inside the VMM first)
  for (let i = 0; i < 100 && (await rtt(Buffer.alloc(8), 500)) === undefined; i++);
  const rtts = [];
  for (let i = 0; i < ROUNDS; i++) rtts.push((await rtt(Buffer.alloc(64), 2000)) ?? 2000000);
  rtts.sort((a, b) => a - b);
  const size = 1400, window = 16;
  let sent = 0, echoed = 0;
  const t0 = process.hrtime.bigint(), started = Date.now();
  await new Promise((resolve) => {
    let last = Date.now();
    const l = (m) => { if (m.length !== size) return; echoed++; last = Date.now(); if (echoed >= PACKETS) { listeners.delete(l); clearInterval(watch); resolve(); return; } if (sent < PACKETS * 2) { sent++; s.send(Buffer.alloc(size), port, '127.0.0.1'); } };
    listeners.add(l);
    const watch = setInterval(() => {
      if (Date.now() - last > 200) { for (let k = 0; k < window; k++) { s.send(Buffer.alloc(size), port, '127.0.0.1'); sent++; } last = Date.now(); }
      if (Date.now() - started > 120000) { listeners.delete(l); clearInterval(watch); resolve(); }
    }, 50);
    for (; sent < window; sent++) s.send(Buffer.alloc(size), port, '127.0.0.1');
  });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  s.close();
  return {
    latencyMedianUs: Math.round(rtts[Math.floor(rtts.length / 2)]), latencyP99Us: Math.round(rtts[Math.floor(rtts.length * 0.99)]),
    throughputMbit: +(echoed * size * 8 / secs / 1e6).toFixed(2), packetsPerSec: Math.round(echoed / secs), echoed, sent,
  };
}

function freePort() {
  return new Promise((resolve) => { const s = createSocket('udp4'); s.bind(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); }); });
}

async function runMicrovmUser(accel) {
  const port = await freePort();
  const config = resolveConfig({
    kernel: elf, memory: 64 * 1024 * 1024, accel, cpu: { model: accel === 'kvm' ? 'host' : 'microvm-default' },
    append: `virtio=${accel === 'kvm' ? 'irq' : JIT_MODE} quiet`, serial: { kind: 'null' },
    netdevs: [{ kind: 'user', id: 'n0', hostfwd: [{ proto: 'udp', hostPort: port, guestPort: 7 }] }], devices: [{ driver: 'virtio-net-device', netdev: 'n0' }],
    globals: [{ driver: 'virtio-mmio', property: 'force-legacy', value: 'false' }],
  });
  const m = new Microvm(config, {});
  const v = m.virtio ?? attachVirtioDevices(m, config);
  await v.ready;
  await m.start();
  try { return await measureUdp(port); } finally { await m.stop(); if (!m.virtio) await v.close(); }
}

async function runQemuUser(accel) {
  const port = await freePort();
  const q = spawn('qemu-system-x86_64', [
    '-machine', 'microvm,pit=off,pic=off,rtc=on', '-accel', accel, '-cpu', accel === 'kvm' ? 'host' : 'max', '-m', '64M',
    '-nographic', '-monitor', 'none', '-serial', 'null', '-no-reboot', '-global', 'virtio-mmio.force-legacy=false',
    '-netdev', `user,id=n0,hostfwd=udp:127.0.0.1:${port}-:7`, '-device', 'virtio-net-device,netdev=n0',
    '-kernel', elf, '-append', `virtio=${accel === 'kvm' ? 'irq' : 'poll'} quiet`,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  try { return await measureUdp(port); } finally { q.kill('SIGKILL'); }
}

/** src/net/user.ts alone: a fake guest at 10.0.2.15 that answers ARP and echoes UDP port 7 at once. */
async function runSlirpOnly() {
  const port = await freePort();
  const net = new UserNetdev('bench', { hostfwd: [{ proto: 'udp', hostPort: port, guestPort: 7 }] });
  await net.ready;
  net.attach({
    receive: (f) => {
      const e = P.parseEth(f);
      if (e?.type === P.ETHERTYPE_ARP) {
        const a = P.parseArp(e.payload);
        if (a?.op === 1) queueMicrotask(() => net.send(P.buildEth(a.sha, GUEST_MAC, P.ETHERTYPE_ARP, P.buildArp(2, GUEST_MAC, a.tpa, a.sha, a.spa))));
        return true;
      }
      const ip = e && P.parseIpv4(e.payload);
      const u = ip && ip.proto === P.IPPROTO_UDP ? P.parseUdp(ip) : undefined;
      if (u && u.dport === 7) queueMicrotask(() => net.send(P.buildEth(e.src, GUEST_MAC, P.ETHERTYPE_IPV4, P.buildUdp(ip.dst, ip.src, 7, u.sport, u.payload))));
      return true;
    },
  });
  try { return await measureUdp(port); } finally { await net.close(); }
}

async function runMicrovm(accel) {
  const w = await wire();
  const config = resolveConfig({
    kernel: elf, memory: 64 * 1024 * 1024, accel, cpu: { model: accel === 'kvm' ? 'host' : 'microvm-default' },
    append: `virtio=${accel === 'kvm' ? 'irq' : JIT_MODE} quiet`, serial: { kind: 'null' },
    netdevs: [{ kind: 'socket', id: 'n0', connect: `127.0.0.1:${w.port}` }], devices: [{ driver: 'virtio-net-device', netdev: 'n0' }],
    globals: [{ driver: 'virtio-mmio', property: 'force-legacy', value: 'false' }],
  });
  const m = new Microvm(config, {});
  const v = m.virtio ?? attachVirtioDevices(m, config);
  await v.ready;
  await m.start();
  const conn = await w.connected;
  try { return await measure(conn); } finally { await m.stop(); if (!m.virtio) await v.close(); conn.close(); w.close(); }
}

async function runQemu(accel) {
  const w = await wire();
  const q = spawn('qemu-system-x86_64', [
    '-machine', 'microvm,pit=off,pic=off,rtc=on', '-accel', accel, '-cpu', accel === 'kvm' ? 'host' : 'max', '-m', '64M',
    '-nographic', '-monitor', 'none', '-serial', 'null', '-no-reboot', '-global', 'virtio-mmio.force-legacy=false',
    '-netdev', `socket,id=n0,connect=127.0.0.1:${w.port}`, '-device', 'virtio-net-device,netdev=n0',
    '-kernel', elf, '-append', `virtio=${accel === 'kvm' ? 'irq' : 'poll'} quiet`,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  q.stderr.on('data', (d) => { err += d; });
  const conn = await Promise.race([w.connected, new Promise((_, rej) => q.on('exit', (c) => rej(new Error(`qemu exited ${c}: ${err}`))))]);
  try { return await measure(conn); } finally { q.kill('SIGKILL'); conn.close(); w.close(); }
}

const kvmOk = kvmAvailability().ok;
const haveQemu = spawnSync('qemu-system-x86_64', ['--version']).status === 0;
const user = BACKEND === 'user';
const targets = process.argv.includes('--slirp-only') ? [['user.ts alone', 'jit', runSlirpOnly, true]] : [
  ['microvm-ts jit', 'jit', () => (user ? runMicrovmUser('jit') : runMicrovm('jit')), true],
  ['microvm-ts kvm', 'kvm', () => (user ? runMicrovmUser('kvm') : runMicrovm('kvm')), kvmOk],
  ['qemu tcg', 'qemu-tcg', () => (user ? runQemuUser('tcg') : runQemu('tcg')), haveQemu],
  ['qemu kvm', 'qemu-kvm', () => (user ? runQemuUser('kvm') : runQemu('kvm')), haveQemu && kvmOk],
];
if (!json) console.log(`backend: ${process.argv.includes('--slirp-only') ? 'src/net/user.ts without a guest' : BACKEND}`);
const results = {};
for (const [name, key, fn, ok] of targets) {
  if (!ONLY.includes(key)) continue;
  if (!ok) {
    results[name] = { skipped: key.includes('kvm') ? 'KVM unavailable' : 'qemu-system-x86_64 not installed' };
    if (!json) console.log(name.padEnd(16), JSON.stringify(results[name]));
    continue;
  }
  try { results[name] = await fn(); } catch (e) { results[name] = { error: e.message }; }
  if (!json) console.log(name.padEnd(16), JSON.stringify(results[name]));
}
const jit = results['microvm-ts jit'], tcg = results['qemu tcg'];
if (jit?.throughputMbit && tcg?.throughputMbit) results.ratioJitVsTcgThroughput = +(jit.throughputMbit / tcg.throughputMbit).toFixed(2);
if (json) console.log(JSON.stringify(results, null, 2));
else if (results.ratioJitVsTcgThroughput) console.log(`throughput microvm-ts JIT / QEMU TCG: ${results.ratioJitVsTcgThroughput}`);
process.exit(0);
