/**
 * Character-device arguments in QEMU's legacy syntax (chardev/char.c
 * qemu_chr_parse_compat, QEMU 7.2), limited to the backends microvm-ts has:
 * `-serial stdio|none|null|file:PATH|tcp:[HOST]:PORT[,server=on|off][,wait=on|off][,nodelay=on|off]`
 * (legacy flags `server`, `nowait`, `wait`, `nodelay` accepted) and
 * `-gdb tcp:[HOST]:PORT|none`.
 */
import type { SerialConfig } from '../machine/config.js';
import { CliError } from './errors.js';
import { optsToMap, parseBool, parseUint, splitOpts } from './qemu-opts.js';

/** QEMU chardev backends we do not implement: a specific message instead of "not a valid char driver". */
const QEMU_ONLY_BACKENDS = ['vc', 'pty', 'udp', 'unix', 'telnet', 'websocket', 'mon', 'pipe', 'chardev', 'braille',
  'msmouse', 'wctablet', 'testdev', 'parallel', 'serial', 'tty', 'memory', 'ringbuf', 'spicevmc', 'spiceport'];

const TCP_FLAGS = new Set(['server', 'wait', 'nodelay']);
const TCP_KEYS = new Set(['server', 'wait', 'nodelay']);

export interface TcpEndpoint {
  host: string;
  port: number;
}

/** `[HOST]:PORT` (host may be empty: all interfaces for a server, localhost for a client; IPv6 in brackets). */
export function parseHostPort(text: string, where: string): TcpEndpoint {
  const m = /^(\[[^\]]*\]|[^:]*):([^:]*)$/.exec(text);
  if (!m) throw new CliError('BAD_VALUE', `${where}: address must be HOST:PORT, got '${text}'`);
  let host = m[1] ?? '';
  if (host.startsWith('[')) host = host.slice(1, -1);
  const portText = m[2] ?? '';
  if (!/^[0-9]+$/.test(portText)) throw new CliError('BAD_VALUE', `${where}: port must be a number, got '${portText}'`);
  const port = Number(portText);
  if (port > 65535) throw new CliError('BAD_VALUE', `${where}: port ${port} out of range 0..65535`);
  return { host, port };
}

export function parseSerialOption(text: string): SerialConfig {
  const where = `-serial ${text}`;
  switch (text) {
    case 'stdio': return { kind: 'stdio' };
    case 'none': return { kind: 'none' };
    case 'null': return { kind: 'null' };
    default: break;
  }
  if (text.startsWith('file:')) {
    const path = text.slice('file:'.length);
    if (path === '') throw new CliError('BAD_VALUE', `${where}: Could not open '': No such file or directory`);
    return { kind: 'file', path };
  }
  if (text.startsWith('tcp:')) {
    const rest = text.slice('tcp:'.length);
    const comma = rest.indexOf(',');
    const addr = comma < 0 ? rest : rest.slice(0, comma);
    const { host, port } = parseHostPort(addr, where);
    const pairs = comma < 0 ? [] : splitOpts(rest.slice(comma + 1), where, { shortBooleans: TCP_FLAGS });
    const m = optsToMap(pairs, where, TCP_KEYS, new Set(['telnet', 'websocket', 'reconnect', 'tls-creds', 'tls-authz', 'ipv4', 'ipv6', 'to', 'mux', 'logfile', 'logappend']));
    const server = m.has('server') ? parseBool(m.get('server') ?? '', 'server', where) : false;
    // QEMU: a server waits for its first client unless wait=off / nowait.
    const wait = m.has('wait') ? parseBool(m.get('wait') ?? '', 'wait', where) : true;
    // nodelay only tunes Nagle; we always send immediately (TCP_NODELAY).
    if (m.has('nodelay')) parseBool(m.get('nodelay') ?? '', 'nodelay', where);
    if (!server && m.has('wait')) {
      throw new CliError('BAD_VALUE', `${where}: 'wait' option is incompatible with socket in client connect mode`);
    }
    return { kind: 'tcp', host, port, server, wait: server && wait };
  }
  const backend = /^[a-z]+/.exec(text)?.[0] ?? text;
  if (QEMU_ONLY_BACKENDS.includes(backend)) {
    throw new CliError('UNSUPPORTED', `${where}: character backend '${backend}' is not supported by microvm-ts ` +
      `(supported: stdio, none, null, file:PATH, tcp:HOST:PORT[,server=on][,wait=off])`);
  }
  throw new CliError('BAD_VALUE', `${where}: '${text}' is not a valid char driver`);
}

/** `-gdb tcp:[HOST]:PORT` (QEMU forces server=on,wait=off) or `none`. */
export function parseGdbOption(text: string): TcpEndpoint | undefined {
  const where = `-gdb ${text}`;
  if (text === 'none') return undefined;
  if (text.startsWith('tcp:')) {
    const rest = text.slice('tcp:'.length);
    const comma = rest.indexOf(',');
    const ep = parseHostPort(comma < 0 ? rest : rest.slice(0, comma), where);
    if (comma >= 0) {
      // QEMU appends ",wait=off,nodelay=on,server=on" itself; accept the user spelling them.
      const pairs = splitOpts(rest.slice(comma + 1), where, { shortBooleans: TCP_FLAGS });
      const m = optsToMap(pairs, where, TCP_KEYS);
      for (const [k, v] of m) parseBool(v, k, where);
    }
    return ep;
  }
  const backend = /^[a-z]+/.exec(text)?.[0] ?? text;
  if (QEMU_ONLY_BACKENDS.includes(backend) || backend === 'stdio' || backend === 'file') {
    throw new CliError('UNSUPPORTED', `${where}: the GDB stub listens on TCP only (-gdb tcp::PORT)`);
  }
  throw new CliError('BAD_VALUE', `${where}: '${text}' is not a valid char driver`);
}

/** Parse a decimal port (used by -netdev hostfwd). */
export function parsePort(text: string, param: string, where: string, min: number): number {
  return parseUint(text, param, where, min, 65535);
}
