/**
 * gdb-remote-protocol-ts: the GDB Remote Serial Protocol, server side, with
 * no knowledge of any architecture or emulator. Publishable on its own (see
 * packages/gdb-remote-protocol-ts/README.md); nothing in this folder imports
 * from outside it except Node's `net`.
 */
export {
  checksum, escapeBinary, unescapeBinary, expandRunLength, compressRunLength, encodePacket, PacketDecoder,
  toHex, fromHex, parseHexBig, parseHexNumber, asciiBytes, bytesToAscii, type PacketEvent,
} from './packet.js';
export { parseCommand, parseThreadId, type Command, type BreakpointType, type VContAction, type ThreadSelector } from './commands.js';
export { GdbSession, type GdbSessionOptions, type SessionState } from './session.js';
export { listenGdb, type GdbListenOptions, type GdbConnection, type GdbListener } from './server.js';
export {
  GdbTargetError, GdbFatalError, SIGINT, SIGTRAP,
  type GdbTarget, type RegisterBytes, type StopEvent, type StopReason, type ThreadAction, type WatchKind,
  type BreakpointOps, type WatchpointOps, type MaybePromise,
} from './target.js';
