/**
 * `-netdev TYPE,id=ID,...` for the backends microvm-ts has (QEMU 7.2 net/net.c,
 * net/slirp.c, net/socket.c, net/tap.c):
 * - `tap,id=,ifname=,script=,downscript=` (QEMU's defaults /etc/qemu-ifup and
 *   /etc/qemu-ifdown apply when script/downscript are not given);
 * - `user,id=[,net=ADDR[/MASK]][,hostfwd=[tcp|udp]:[HADDR]:HPORT-[GADDR]:GPORT]...`;
 * - `socket,id=,listen=|connect=|udp=[,localaddr=]` (exactly one of them).
 */
import type { NetdevConfig } from '../machine/config.js';
import { CliError } from './errors.js';
import { optsToMap, parseId, splitOpts, type OptPair } from './qemu-opts.js';
import { parseHostPort } from './serial-option.js';

/** QEMU net/tap.c DEFAULT_NETWORK_SCRIPT / DEFAULT_NETWORK_DOWN_SCRIPT. */
export const DEFAULT_NETWORK_SCRIPT = '/etc/qemu-ifup';
export const DEFAULT_NETWORK_DOWN_SCRIPT = '/etc/qemu-ifdown';

const QEMU_ONLY_TYPES = ['bridge', 'hubport', 'l2tpv3', 'vde', 'vhost-user', 'vhost-vdpa', 'vmnet-host',
  'vmnet-shared', 'vmnet-bridged', 'netmap', 'af-xdp', 'stream', 'dgram'];

type HostFwd = Extract<NetdevConfig, { kind: 'user' }>['hostfwd'][number];

export function parseNetdevOption(text: string): NetdevConfig {
  const where = `-netdev ${text}`;
  const pairs = splitOpts(text, where, { impliedKey: 'type' });
  const type = pairs.find((p) => p.key === 'type')?.value;
  if (type === undefined) throw new CliError('BAD_VALUE', `${where}: Parameter 'type' is missing`);
  switch (type) {
    case 'tap': return parseTap(pairs, where);
    case 'user': return parseUser(pairs, where);
    case 'socket': return parseSocket(pairs, where);
    default:
      if (QEMU_ONLY_TYPES.includes(type)) {
        throw new CliError('UNSUPPORTED', `${where}: netdev type '${type}' is not supported by microvm-ts (supported: tap, user, socket)`);
      }
      throw new CliError('BAD_VALUE', `${where}: Parameter 'type' does not accept value '${type}'`);
  }
}

function requireId(m: Map<string, string>, where: string): string {
  const id = m.get('id');
  if (id === undefined) throw new CliError('BAD_VALUE', `${where}: Parameter 'id' is missing`);
  return parseId(id, where);
}

function parseTap(pairs: readonly OptPair[], where: string): NetdevConfig {
  const m = optsToMap(pairs, where, new Set(['type', 'id', 'ifname', 'script', 'downscript']),
    new Set(['fd', 'fds', 'br', 'helper', 'sndbuf', 'vnet_hdr', 'vhost', 'vhostfd', 'vhostfds', 'vhostforce', 'queues', 'poll-us']));
  const id = requireId(m, where);
  const ifname = m.get('ifname');
  if (ifname !== undefined && (ifname === '' || ifname.length > 15 || /[\s/]/.test(ifname))) {
    // Linux IFNAMSIZ is 16 including the NUL.
    throw new CliError('BAD_VALUE', `${where}: ifname '${ifname}' is not a valid interface name (1..15 characters, no '/' or spaces)`);
  }
  // QEMU runs /etc/qemu-ifup and /etc/qemu-ifdown unless script=no/downscript=no; we run no scripts.
  const script = m.get('script') ?? DEFAULT_NETWORK_SCRIPT;
  const downscript = m.get('downscript') ?? DEFAULT_NETWORK_DOWN_SCRIPT;
  for (const [k, v] of [['script', script], ['downscript', downscript]] as const) {
    if (v !== 'no') {
      const dflt = m.has(k) ? '' : " (QEMU's default when it is not given)";
      throw new CliError('UNSUPPORTED', `${where}: ${k}=${v}${dflt} is not supported: microvm-ts runs no network scripts; ` +
        'set the tap device up beforehand and pass script=no,downscript=no');
    }
  }
  return { kind: 'tap', id, ...(ifname !== undefined ? { ifname } : {}), script, downscript };
}

function parseUser(pairs: readonly OptPair[], where: string): NetdevConfig {
  // hostfwd may repeat; every other key: last wins.
  const m = optsToMap(pairs, where, new Set(['type', 'id', 'net', 'hostfwd']),
    new Set(['ipv4', 'ipv6', 'host', 'restrict', 'hostname', 'dhcpstart', 'dns', 'dnssearch', 'domainname',
      'ipv6-net', 'ipv6-host', 'ipv6-dns', 'tftp', 'bootfile', 'smb', 'smbserver', 'guestfwd', 'tftp-server-name']));
  const id = requireId(m, where);
  const netText = m.get('net');
  const net = netText === undefined ? undefined : parseIpv4Net(netText, where);
  const hostfwd = pairs.filter((p) => p.key === 'hostfwd').map((p) => parseHostFwd(p.value, where));
  return { kind: 'user', id, ...(net !== undefined ? { net } : {}), hostfwd };
}

function parseSocket(pairs: readonly OptPair[], where: string): NetdevConfig {
  const m = optsToMap(pairs, where, new Set(['type', 'id', 'listen', 'connect', 'udp', 'localaddr']), new Set(['fd', 'mcast']));
  const id = requireId(m, where);
  const modes = ['listen', 'connect', 'udp'].filter((k) => m.has(k));
  if (modes.length !== 1) {
    throw new CliError('BAD_VALUE', `${where}: exactly one of listen=, connect=, mcast= or udp= is required`);
  }
  for (const k of ['listen', 'connect', 'udp', 'localaddr']) {
    const v = m.get(k);
    if (v !== undefined) parseHostPort(v, `${where}: ${k}=`);
  }
  if (m.has('udp') && !m.has('localaddr')) throw new CliError('BAD_VALUE', `${where}: localaddr= is mandatory with udp=`);
  if (!m.has('udp') && m.has('localaddr')) throw new CliError('BAD_VALUE', `${where}: localaddr= is only valid with mcast= or udp=`);
  const out: NetdevConfig = { kind: 'socket', id };
  for (const k of ['listen', 'connect', 'udp', 'localaddr'] as const) {
    const v = m.get(k);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** Dotted-quad IPv4 address to a number, or undefined. */
export function parseIpv4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const b = Number(m[i]);
    if (b > 255) return undefined;
    v = v * 256 + b;
  }
  return v;
}

/**
 * slirp `net=ADDR[/BITS|/MASK]` (net/slirp.c net_slirp_init). Returned as
 * `ADDR/BITS`: a dotted mask becomes its prefix length; no mask stays as given
 * (slirp's default /24).
 */
export function parseIpv4Net(text: string, where: string): string {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  if (parseIpv4(addr) === undefined) throw new CliError('BAD_VALUE', `${where}: Failed to parse netmask`);
  if (slash >= 0) {
    const mask = text.slice(slash + 1);
    if (/^\d+$/.test(mask)) {
      const bits = Number(mask);
      if (bits < 0 || bits > 32) throw new CliError('BAD_VALUE', `${where}: Invalid netmask provided (must be in range 0-32)`);
      return `${addr}/${bits}`;
    }
    const mv = parseIpv4(mask);
    // A dotted mask must be contiguous ones.
    const inv = mv === undefined ? 1 : (~mv >>> 0);
    if (mv === undefined || (inv & (inv + 1)) !== 0) throw new CliError('BAD_VALUE', `${where}: Failed to parse netmask`);
    return `${addr}/${32 - Math.log2(inv + 1)}`;
  }
  return text;
}

/**
 * `hostfwd=[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport`
 * (net/slirp.c slirp_hostfwd): empty protocol is tcp, empty host port is 0
 * (any), the guest port must be 1..65535.
 */
export function parseHostFwd(rule: string, where: string): HostFwd {
  const fail = (why: string): never => {
    throw new CliError('BAD_VALUE', `${where}: Invalid host forwarding rule '${rule}' (${why})`);
  };
  const c1 = rule.indexOf(':');
  if (c1 < 0) return fail('No : separators');
  const protoText = rule.slice(0, c1);
  let proto: 'tcp' | 'udp';
  if (protoText === '' || protoText === 'tcp') proto = 'tcp';
  else if (protoText === 'udp') proto = 'udp';
  else return fail('Bad protocol name');
  let rest = rule.slice(c1 + 1);
  const c2 = rest.indexOf(':');
  if (c2 < 0) return fail('Missing : separator');
  const hostAddr = rest.slice(0, c2);
  rest = rest.slice(c2 + 1);
  const dash = rest.indexOf('-');
  if (dash < 0) return fail('Bad host port separator');
  const hostPortText = rest.slice(0, dash);
  rest = rest.slice(dash + 1);
  const c3 = rest.indexOf(':');
  if (c3 < 0) return fail('Missing guest address');
  const guestAddr = rest.slice(0, c3);
  const guestPortText = rest.slice(c3 + 1);
  if (hostAddr !== '' && parseIpv4(hostAddr) === undefined) return fail('Bad host address');
  const hostPort = hostPortText === '' ? 0 : portNumber(hostPortText);
  if (hostPort === undefined) return fail('Bad host port');
  if (guestAddr !== '' && parseIpv4(guestAddr) === undefined) return fail('Bad guest address');
  const guestPort = portNumber(guestPortText);
  if (guestPort === undefined || guestPort < 1) return fail('Bad guest port');
  return {
    proto, hostPort, guestPort,
    ...(hostAddr !== '' ? { hostAddr } : {}),
    ...(guestAddr !== '' ? { guestAddr } : {}),
  };
}

function portNumber(text: string): number | undefined {
  let n: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) n = Number.parseInt(text.slice(2), 16);
  else if (/^[0-9]+$/.test(text)) n = Number(text);
  else return undefined;
  return n <= 65535 ? n : undefined;
}
