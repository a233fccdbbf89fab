/**
 * Packets from gdb, parsed into commands (GDB manual E.2 "Packets", E.4
 * "General Query Packets"). Pure functions: a payload in, a Command or a
 * parse error out. Unknown packets become `unsupported` (answered with the
 * empty packet, as E.2 requires), malformed known ones `malformed`
 * (answered `E`).
 */
import { bytesToAscii, fromHex, parseHexBig, parseHexNumber, unescapeBinary } from './packet.js';
import type { ThreadAction, WatchKind } from './target.js';

/** A thread id in a packet: a positive id, 0 ("any thread") or -1 ("all threads"). */
export type ThreadSelector = number;

export type BreakpointType = 'sw' | 'hw' | WatchKind;

export type VContAction = { action: ThreadAction; thread?: ThreadSelector };

export type Command =
  | { kind: 'stop-reason' }
  | { kind: 'read-registers' }
  | { kind: 'write-registers'; data: Uint8Array }
  | { kind: 'read-register'; regno: number }
  | { kind: 'write-register'; regno: number; data: Uint8Array }
  | { kind: 'read-memory'; addr: bigint; len: number }
  | { kind: 'write-memory'; addr: bigint; data: Uint8Array }
  | { kind: 'insert-breakpoint' | 'remove-breakpoint'; type: BreakpointType; addr: bigint; size: number }
  /** c, C, s, S (the optional resume address is applied before resuming). */
  | { kind: 'resume'; action: 'continue' | 'step'; signal?: number; addr?: bigint }
  | { kind: 'vcont-query' }
  | { kind: 'vcont'; actions: VContAction[] }
  | { kind: 'set-thread'; op: 'g' | 'c'; thread: ThreadSelector }
  | { kind: 'thread-alive'; thread: ThreadSelector }
  | { kind: 'detach' }
  | { kind: 'kill' }
  | { kind: 'supported'; features: string[] }
  | { kind: 'start-no-ack' }
  | { kind: 'xfer-features'; annex: string; offset: number; length: number }
  | { kind: 'thread-info-first' }
  | { kind: 'thread-info-next' }
  | { kind: 'current-thread' }
  | { kind: 'attached' }
  | { kind: 'offsets' }
  | { kind: 'thread-extra-info'; thread: ThreadSelector }
  | { kind: 'monitor'; command: string }
  | { kind: 'symbol' }
  | { kind: 'unsupported'; name: string }
  | { kind: 'malformed'; name: string };

/** `-1`, or a hex id; `pPID.TID` (multiprocess syntax) gives TID. */
export function parseThreadId(s: string): ThreadSelector | undefined {
  let t = s;
  if (t.startsWith('p')) {
    const dot = t.indexOf('.');
    if (dot < 0) return undefined;
    t = t.slice(dot + 1);
  }
  if (t === '-1') return -1;
  return parseHexNumber(t);
}

/** `addr,len` with both in hex; len bounded by `maxLen`. */
function parseAddrLen(s: string, maxLen: number): { addr: bigint; len: number } | undefined {
  const comma = s.indexOf(',');
  if (comma < 0) return undefined;
  const addr = parseHexBig(s.slice(0, comma));
  const len = parseHexNumber(s.slice(comma + 1));
  if (addr === undefined || len === undefined || len > maxLen) return undefined;
  return { addr, len };
}

/** Signal numbers are two hex digits (E.2 `C sig`). */
function parseSignal(s: string): number | undefined {
  if (!/^[0-9a-fA-F]{1,2}$/.test(s)) return undefined;
  return parseInt(s, 16);
}

const Z_TYPES: Record<string, BreakpointType> = { '0': 'sw', '1': 'hw', '2': 'write', '3': 'read', '4': 'access' };

export interface ParseLimits {
  /** Largest m/M/X length accepted (bytes). */
  maxMemoryLength: number;
}

/** Parse one packet payload (RLE already expanded, binary still escaped). */
export function parseCommand(payload: Uint8Array, limits: ParseLimits): Command {
  const text = bytesToAscii(payload);
  const bad = (name: string): Command => ({ kind: 'malformed', name });
  const head = text[0] ?? '';
  const rest = text.slice(1);
  switch (head) {
    case '?': return { kind: 'stop-reason' };
    case 'g': return rest === '' ? { kind: 'read-registers' } : bad('g');
    case 'G': {
      const data = fromHex(rest);
      return data ? { kind: 'write-registers', data } : bad('G');
    }
    case 'p': {
      const regno = parseHexNumber(rest);
      return regno === undefined ? bad('p') : { kind: 'read-register', regno };
    }
    case 'P': {
      const eq = rest.indexOf('=');
      const regno = eq < 0 ? undefined : parseHexNumber(rest.slice(0, eq));
      const data = eq < 0 ? undefined : fromHex(rest.slice(eq + 1));
      return regno === undefined || !data || data.length === 0 ? bad('P') : { kind: 'write-register', regno, data };
    }
    case 'm': {
      const al = parseAddrLen(rest, limits.maxMemoryLength);
      return al ? { kind: 'read-memory', addr: al.addr, len: al.len } : bad('m');
    }
    case 'M': {
      const colon = rest.indexOf(':');
      const al = colon < 0 ? undefined : parseAddrLen(rest.slice(0, colon), limits.maxMemoryLength);
      const data = colon < 0 ? undefined : fromHex(rest.slice(colon + 1));
      return al && data && data.length === al.len ? { kind: 'write-memory', addr: al.addr, data } : bad('M');
    }
    case 'X': {
      // Binary data: find the ':' in the raw bytes (the address part is text).
      const colon = payload.indexOf(0x3a);
      const al = colon < 0 ? undefined : parseAddrLen(text.slice(1, colon), limits.maxMemoryLength);
      const data = colon < 0 ? undefined : unescapeBinary(payload.subarray(colon + 1));
      return al && data && data.length === al.len ? { kind: 'write-memory', addr: al.addr, data } : bad('X');
    }
    case 'Z':
    case 'z': {
      // Z type,addr,kind[;cond_list...][;cmds:...]: conditions are not supported and ignored.
      const [type, addrS, sizeS] = rest.split(';')[0]!.split(',');
      const t = type === undefined ? undefined : Z_TYPES[type];
      const addr = addrS === undefined ? undefined : parseHexBig(addrS);
      const size = sizeS === undefined ? undefined : parseHexNumber(sizeS);
      if (type !== undefined && type !== '' && t === undefined) return { kind: 'unsupported', name: head + type };
      if (t === undefined || addr === undefined || size === undefined) return bad(head);
      return { kind: head === 'Z' ? 'insert-breakpoint' : 'remove-breakpoint', type: t, addr, size };
    }
    case 'c':
    case 's': {
      const action = head === 'c' ? 'continue' : 'step';
      if (rest === '') return { kind: 'resume', action };
      const addr = parseHexBig(rest);
      return addr === undefined ? bad(head) : { kind: 'resume', action, addr };
    }
    case 'C':
    case 'S': {
      const action = head === 'C' ? 'continue' : 'step';
      const [sigS, addrS] = rest.split(';');
      const signal = parseSignal(sigS ?? '');
      const addr = addrS === undefined ? undefined : parseHexBig(addrS);
      if (signal === undefined || (addrS !== undefined && addr === undefined)) return bad(head);
      return addr === undefined ? { kind: 'resume', action, signal } : { kind: 'resume', action, signal, addr };
    }
    case 'H': {
      const op = rest[0];
      const thread = parseThreadId(rest.slice(1));
      if ((op !== 'g' && op !== 'c') || thread === undefined) return bad('H');
      return { kind: 'set-thread', op, thread };
    }
    case 'T': {
      const thread = parseThreadId(rest);
      return thread === undefined ? bad('T') : { kind: 'thread-alive', thread };
    }
    case 'D': return { kind: 'detach' };
    case 'k': return { kind: 'kill' };
    case 'v': return parseV(text);
    case 'q':
    case 'Q': return parseQuery(text);
    default: return { kind: 'unsupported', name: head };
  }
}

function parseV(text: string): Command {
  if (text === 'vCont?') return { kind: 'vcont-query' };
  if (text.startsWith('vCont;')) {
    const actions: VContAction[] = [];
    for (const part of text.slice(6).split(';')) {
      const [a, tid] = part.split(':');
      let action: ThreadAction;
      if (a === 'c') action = { kind: 'continue' };
      else if (a === 's') action = { kind: 'step' };
      else if (a === 't') action = { kind: 'stop' };
      else if (a !== undefined && (a[0] === 'C' || a[0] === 'S')) {
        const signal = parseSignal(a.slice(1));
        if (signal === undefined) return { kind: 'malformed', name: 'vCont' };
        action = { kind: a[0] === 'C' ? 'continue' : 'step', signal };
      } else {
        // `r start,end` (range stepping) is not offered in vCont?; anything else is malformed.
        return { kind: 'malformed', name: 'vCont' };
      }
      if (tid === undefined) {
        actions.push({ action });
      } else {
        const thread = parseThreadId(tid);
        if (thread === undefined) return { kind: 'malformed', name: 'vCont' };
        actions.push({ action, thread });
      }
    }
    return { kind: 'vcont', actions };
  }
  if (text === 'vKill' || text.startsWith('vKill;')) return { kind: 'kill' };
  return { kind: 'unsupported', name: text.split(/[;:]/)[0]! };
}

function parseQuery(text: string): Command {
  const name = text.split(/[:,;]/)[0]!;
  switch (name) {
    case 'qSupported': {
      const colon = text.indexOf(':');
      return { kind: 'supported', features: colon < 0 ? [] : text.slice(colon + 1).split(';') };
    }
    case 'QStartNoAckMode': return { kind: 'start-no-ack' };
    case 'qXfer': {
      // qXfer:features:read:annex:offset,length
      const parts = text.split(':');
      if (parts[1] !== 'features') return { kind: 'unsupported', name: `qXfer:${parts[1] ?? ''}` };
      if (parts[2] !== 'read' || parts.length !== 5) return { kind: 'malformed', name: 'qXfer' };
      const [offS, lenS] = parts[4]!.split(',');
      const offset = parseHexNumber(offS ?? '');
      const length = parseHexNumber(lenS ?? '');
      if (offset === undefined || length === undefined) return { kind: 'malformed', name: 'qXfer' };
      return { kind: 'xfer-features', annex: parts[3]!, offset, length };
    }
    case 'qfThreadInfo': return { kind: 'thread-info-first' };
    case 'qsThreadInfo': return { kind: 'thread-info-next' };
    case 'qC': return text === 'qC' ? { kind: 'current-thread' } : { kind: 'unsupported', name: text };
    case 'qAttached': return { kind: 'attached' };
    case 'qOffsets': return { kind: 'offsets' };
    case 'qThreadExtraInfo': {
      const thread = parseThreadId(text.slice('qThreadExtraInfo,'.length));
      return thread === undefined ? { kind: 'malformed', name } : { kind: 'thread-extra-info', thread };
    }
    case 'qRcmd': {
      const data = fromHex(text.slice('qRcmd,'.length));
      return data ? { kind: 'monitor', command: bytesToAscii(data) } : { kind: 'malformed', name };
    }
    case 'qSymbol': return { kind: 'symbol' };
    default: return { kind: 'unsupported', name };
  }
}
