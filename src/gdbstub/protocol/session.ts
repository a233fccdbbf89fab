/**
 * One gdb connection: the server side of the Remote Serial Protocol as an
 * explicit state machine. Bytes arrive through `receive` (any chunking),
 * replies leave through the `send` callback; the target reports stops
 * through `reportStop`. Nothing here touches a socket, so tests drive it
 * with byte strings and a fake target.
 *
 * States (all-stop mode, E.10 "Remote Protocol Support for Non-Stop Mode"
 * is not offered):
 *   stopped --c/s/vCont--> running --reportStop--> stopped
 *   running --0x03--> (target.interrupt(); stays running until the stop)
 *   any --D/k/exit--> closed
 * Packets are handled one at a time, in arrival order; a handler may await
 * the target.
 */
import { parseCommand, type BreakpointType, type Command, type ThreadSelector, type VContAction } from './commands.js';
import { asciiBytes, encodePacket, escapeBinary, PacketDecoder, toHex, ACK, NACK } from './packet.js';
import {
  GdbFatalError, GdbTargetError, SIGTRAP, type GdbTarget, type RegisterBytes, type StopEvent, type ThreadAction,
} from './target.js';

export type SessionState = 'stopped' | 'running' | 'closed';

export interface GdbSessionOptions {
  /** Largest packet we accept, advertised as PacketSize (bytes). Default 0x4000. */
  packetSize?: number;
  /** Run-length encode replies (E.1). Default true. */
  runLength?: boolean;
  /** Where protocol problems are reported (default: nowhere). */
  log?: (message: string) => void;
  /** The stop to report for `?` before the first resume. Default SIGTRAP on the first thread. */
  initialStop?: StopEvent;
  /** Called once when the session ends (detach, kill, exit, close()). */
  onClose?: (why: 'detach' | 'kill' | 'exited' | 'closed' | 'fatal') => void;
}

/** Errno values in `Exx` replies (gdbserver's conventions). */
const E_GENERIC = 0x01;
const E_BAD_THREAD = 0x02;
const E_FAULT = 0x0e;
const E_INVALID = 0x16;

type Reply = string | Uint8Array | undefined;

export class GdbSession {
  private readonly decoder: PacketDecoder;
  private readonly packetSize: number;
  private readonly runLength: boolean;
  private _state: SessionState = 'stopped';
  private noAck = false;
  /** Last packet sent while acks are on, for retransmission on `-`. */
  private unacked: Uint8Array | undefined;
  private lastStop: StopEvent;
  private generalThread: ThreadSelector = 0;
  private continueThread: ThreadSelector = 0;
  private gdbFeatures = new Set<string>();
  private work: Promise<void> = Promise.resolve();
  /** Counters for the curious (and tests). */
  readonly stats = { packets: 0, badPackets: 0, retransmits: 0, interrupts: 0, errors: 0 };

  constructor(private readonly target: GdbTarget, private readonly send: (data: Uint8Array) => void, private readonly opts: GdbSessionOptions = {}) {
    this.packetSize = opts.packetSize ?? 0x4000;
    this.runLength = opts.runLength ?? true;
    // Room for the largest reply gdb may send us (G/X of packetSize plus framing slack).
    this.decoder = new PacketDecoder(this.packetSize * 2 + 64);
    this.lastStop = opts.initialStop ?? { kind: 'signal', signal: SIGTRAP, thread: target.threads()[0] ?? 1 };
  }

  get state(): SessionState { return this._state; }

  /** Bytes from gdb. */
  receive(chunk: Uint8Array): void {
    for (const byte of chunk) {
      if (this._state === 'closed') return;
      const ev = this.decoder.feed(byte);
      if (!ev) continue;
      switch (ev.kind) {
        case 'ack':
          this.unacked = undefined;
          break;
        case 'nack':
          if (this.unacked) {
            this.stats.retransmits++;
            this.send(this.unacked);
          }
          break;
        case 'interrupt':
          this.stats.interrupts++;
          // Only meaningful while the target runs (E.8); gdb may also send it while we answer.
          // Checked in turn, so a ^C right behind a `c` packet still stops the target.
          this.enqueue(async () => { if (this._state === 'running') await this.target.interrupt(); });
          break;
        case 'bad-packet':
          this.stats.badPackets++;
          this.opts.log?.(`gdb: dropped a packet (${ev.reason})`);
          if (!this.noAck) this.send(Uint8Array.of(NACK));
          break;
        case 'packet': {
          this.stats.packets++;
          if (!this.noAck) this.send(Uint8Array.of(ACK));
          const payload = ev.payload;
          this.enqueue(() => this.handle(payload));
          break;
        }
        default: {
          const never: never = ev;
          throw new Error(`unhandled packet event ${JSON.stringify(never)}`);
        }
      }
    }
  }

  /** The target stopped (or exited). Sends the stop reply if gdb is waiting for one. */
  reportStop(ev: StopEvent): void {
    if (this._state === 'closed') return;
    const wasRunning = this._state === 'running';
    this.lastStop = ev;
    if (ev.kind === 'signal') {
      this.generalThread = ev.thread;
      this.continueThread = ev.thread;
      if (!wasRunning) return;
      this._state = 'stopped';
      this.sendPacket(this.stopReply(ev));
      return;
    }
    // The program is gone: tell gdb whether or not it was waiting, then end.
    this.sendPacket(this.stopReply(ev));
    this.close('exited');
  }

  /** End the session (the connection closed, or the host shuts down). */
  close(why: 'detach' | 'kill' | 'exited' | 'closed' | 'fatal' = 'closed'): void {
    if (this._state === 'closed') return;
    this._state = 'closed';
    this.opts.onClose?.(why);
  }

  /** Resolves when every packet received so far has been handled (tests). */
  idle(): Promise<void> {
    return this.work;
  }

  private enqueue(f: () => Promise<void>): void {
    this.work = this.work.then(f).catch((e: unknown) => {
      this.opts.log?.(`gdb: ${(e as Error).message}`);
    });
  }

  private async handle(payload: Uint8Array): Promise<void> {
    if (this._state === 'closed') return;
    const cmd = parseCommand(payload, { maxMemoryLength: this.packetSize });
    let reply: Reply;
    try {
      reply = await this.execute(cmd);
    } catch (e) {
      if (e instanceof GdbFatalError) {
        this.opts.log?.(`gdb: fatal target error: ${e.message}`);
        this.close('fatal');
        return;
      }
      this.stats.errors++;
      if (!(e instanceof GdbTargetError)) this.opts.log?.(`gdb: ${cmd.kind}: ${(e as Error).message}`);
      // A failed resume leaves the target where it was.
      if (this._state === 'running' && (cmd.kind === 'resume' || cmd.kind === 'vcont')) this._state = 'stopped';
      reply = errorReply(e instanceof GdbTargetError ? e.errno : E_GENERIC);
    }
    // (The command may have closed the session: sendPacket checks.)
    if (reply !== undefined) this.sendPacket(reply);
    if (cmd.kind === 'start-no-ack') this.noAck = true;
    if (cmd.kind === 'detach') this.close('detach');
  }

  private async execute(cmd: Command): Promise<Reply> {
    const t = this.target;
    switch (cmd.kind) {
      case 'stop-reason': return this.stopReply(this.lastStop);
      case 'read-registers': return registerHex(await t.readRegisters(this.thread('g')));
      case 'write-registers':
        await t.writeRegisters(this.thread('g'), cmd.data);
        return 'OK';
      case 'read-register': {
        const r = await t.readRegister(this.thread('g'), cmd.regno);
        return r ? registerHex(r) : errorReply(E_INVALID);
      }
      case 'write-register':
        return (await t.writeRegister(this.thread('g'), cmd.regno, cmd.data)) ? 'OK' : errorReply(E_INVALID);
      case 'read-memory': {
        if (cmd.len === 0) return '';
        const data = await t.readMemory(this.thread('g'), cmd.addr, cmd.len);
        return data.length > 0 ? toHex(data.subarray(0, cmd.len)) : errorReply(E_FAULT);
      }
      case 'write-memory':
        // A zero-length X is gdb probing for binary downloads.
        if (cmd.data.length === 0) return 'OK';
        return (await t.writeMemory(this.thread('g'), cmd.addr, cmd.data)) ? 'OK' : errorReply(E_FAULT);
      case 'insert-breakpoint':
      case 'remove-breakpoint': return this.breakpoint(cmd.kind === 'insert-breakpoint', cmd.type, cmd.addr, cmd.size);
      case 'resume': {
        // Resuming at another address needs the PC register, which only the target knows.
        if (cmd.addr !== undefined) return errorReply(E_INVALID);
        const action: ThreadAction = cmd.signal === undefined ? { kind: cmd.action } : { kind: cmd.action, signal: cmd.signal };
        const actions = new Map<number, ThreadAction>();
        const selected = this.thread('c');
        for (const th of t.threads()) {
          // `c` continues everything; `s` steps the selected thread (E.2).
          actions.set(th, cmd.action === 'continue' || th === selected ? action : { kind: 'stop' });
        }
        return this.resume(actions);
      }
      case 'vcont-query': return 'vCont;c;C;s;S;t';
      case 'vcont': return this.resume(this.vcontActions(cmd.actions));
      case 'set-thread': {
        if (cmd.thread > 0 && !t.threads().includes(cmd.thread)) return errorReply(E_BAD_THREAD);
        if (cmd.op === 'g') this.generalThread = cmd.thread; else this.continueThread = cmd.thread;
        return 'OK';
      }
      case 'thread-alive': return t.threads().includes(cmd.thread) ? 'OK' : errorReply(E_BAD_THREAD);
      case 'detach':
        await t.detach();
        return 'OK';
      case 'kill':
        await t.kill();
        this.close('kill');
        return undefined;
      case 'supported': {
        this.gdbFeatures = new Set(cmd.features.filter((f) => f.endsWith('+')).map((f) => f.slice(0, -1)));
        const caps = [`PacketSize=${this.packetSize.toString(16)}`, 'QStartNoAckMode+', 'vContSupported+'];
        if (t.features) caps.push('qXfer:features:read+');
        if (t.swBreakpoints) caps.push('swbreak+');
        if (t.hwBreakpoints || t.watchpoints) caps.push('hwbreak+');
        return caps.join(';');
      }
      case 'start-no-ack': return 'OK';
      case 'xfer-features': {
        const doc = t.features?.(cmd.annex);
        if (doc === undefined) return errorReply(E_GENERIC);
        const bytes = asciiBytes(doc);
        if (cmd.offset >= bytes.length) return 'l';
        // Leave room for escapes: every byte may double.
        const len = Math.min(cmd.length, Math.floor((this.packetSize - 1) / 2));
        const chunk = bytes.subarray(cmd.offset, cmd.offset + len);
        const last = cmd.offset + chunk.length >= bytes.length;
        return concat(asciiBytes(last ? 'l' : 'm'), escapeBinary(chunk));
      }
      case 'thread-info-first': return 'm' + t.threads().map((n) => n.toString(16)).join(',');
      case 'thread-info-next': return 'l';
      case 'current-thread': return 'QC' + this.currentThread().toString(16);
      case 'attached': return t.attached === false ? '0' : '1';
      case 'offsets': return 'Text=0;Data=0;Bss=0';
      case 'thread-extra-info': {
        if (!t.threads().includes(cmd.thread)) return errorReply(E_BAD_THREAD);
        return toHex(asciiBytes(t.threadExtraInfo?.(cmd.thread) ?? `Thread ${cmd.thread}`));
      }
      case 'monitor': {
        if (!t.monitor) return '';
        // Output goes out as O packets while the command runs (E.4 qRcmd).
        await t.monitor(cmd.command, (text) => {
          if (text.length > 0) this.sendPacket('O' + toHex(asciiBytes(text)));
        });
        return 'OK';
      }
      case 'symbol': return 'OK';
      case 'unsupported': return '';
      case 'malformed':
        this.opts.log?.(`gdb: malformed ${cmd.name} packet`);
        return errorReply(E_INVALID);
      default: {
        const never: never = cmd;
        throw new Error(`unhandled command ${JSON.stringify(never)}`);
      }
    }
  }

  private async breakpoint(insert: boolean, type: BreakpointType, addr: bigint, size: number): Promise<Reply> {
    const t = this.target;
    let ok: boolean;
    if (type === 'sw' || type === 'hw') {
      const ops = type === 'sw' ? t.swBreakpoints : t.hwBreakpoints;
      if (!ops) return '';
      ok = insert ? await ops.add(addr, size) : await ops.remove(addr, size);
    } else {
      if (!t.watchpoints) return '';
      ok = insert ? await t.watchpoints.add(type, addr, size) : await t.watchpoints.remove(type, addr, size);
    }
    return ok ? 'OK' : errorReply(E_GENERIC);
  }

  /**
   * vCont: for each thread the leftmost action naming it (or -1) applies,
   * else the action without a thread id, else it stays stopped (E.2 vCont).
   * Thread 0 ("any") names the current thread.
   */
  private vcontActions(list: readonly VContAction[]): Map<number, ThreadAction> {
    const actions = new Map<number, ThreadAction>();
    const current = this.currentThread();
    for (const th of this.target.threads()) {
      const hit = list.find((a) => a.thread !== undefined && (a.thread === th || a.thread === -1 || (a.thread === 0 && th === current)))
        ?? list.find((a) => a.thread === undefined);
      actions.set(th, hit ? hit.action : { kind: 'stop' });
    }
    return actions;
  }

  private async resume(actions: Map<number, ThreadAction>): Promise<Reply> {
    if (![...actions.values()].some((a) => a.kind !== 'stop')) return errorReply(E_INVALID);
    // Running before the target is asked, so a stop it reports at once is not lost.
    this._state = 'running';
    await this.target.resume(actions);
    return undefined;
  }

  /** The thread an Hg/Hc selection stands for: a live selected thread, else the last stopped one. */
  private thread(op: 'g' | 'c'): number {
    const sel = op === 'g' ? this.generalThread : this.continueThread;
    const threads = this.target.threads();
    if (sel > 0 && threads.includes(sel)) return sel;
    return this.currentThread();
  }

  private currentThread(): number {
    const threads = this.target.threads();
    const last = this.lastStop.kind === 'signal' ? this.lastStop.thread : undefined;
    if (last !== undefined && threads.includes(last)) return last;
    return threads[0] ?? 1;
  }

  /** `T05thread:1;swbreak:;` etc. (E.3 "Stop Reply Packets"). */
  private stopReply(ev: StopEvent): string {
    switch (ev.kind) {
      case 'exited': return 'W' + hex2(ev.status);
      case 'terminated': return 'X' + hex2(ev.signal);
      case 'signal': {
        let s = `T${hex2(ev.signal)}thread:${ev.thread.toString(16)};`;
        const r = ev.reason;
        if (r) {
          // swbreak/hwbreak only when gdb said it understands them (E.3).
          if (r.kind === 'swbreak' || r.kind === 'hwbreak') {
            if (this.gdbFeatures.has(r.kind)) s += `${r.kind}:;`;
          } else {
            s += `${r.kind}:${r.address.toString(16)};`;
          }
        }
        return s;
      }
      default: {
        const never: never = ev;
        throw new Error(`unhandled stop ${JSON.stringify(never)}`);
      }
    }
  }

  private sendPacket(reply: string | Uint8Array): void {
    if (this._state === 'closed') return;
    const payload = typeof reply === 'string' ? asciiBytes(reply) : reply;
    const framed = encodePacket(payload, { runLength: this.runLength });
    if (!this.noAck) this.unacked = framed;
    this.send(framed);
  }
}

function hex2(n: number): string {
  return (n & 0xff).toString(16).padStart(2, '0');
}

function errorReply(errno: number): string {
  return 'E' + hex2(errno);
}

/** `g`/`p` reply: hex bytes, `xx` for unavailable ones (E.2 `g`). */
function registerHex(r: RegisterBytes): string {
  const hex = toHex(r.bytes);
  if (!r.unavailable) return hex;
  let s = '';
  for (let i = 0; i < r.bytes.length; i++) s += r.unavailable[i] ? 'xx' : hex.slice(2 * i, 2 * i + 2);
  return s;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
