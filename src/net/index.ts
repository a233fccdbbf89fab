/**
 * Netdev backends (QEMU's `-netdev`): create one from its config.
 * `createNetdev` is synchronous; backends that bind or connect expose a
 * `ready` promise (awaited by `attachVirtioDevices().ready`).
 */
import type { FilterDumpConfig, NetdevConfig } from '../machine/config.js';
import type { Netdev } from './netdev.js';
import { PcapWriter } from './pcap.js';
import { NetdevConfigError, SocketNetdev } from './socket.js';
import { StreamNetdev } from './stream.js';
import { TapNetdev } from './tap.js';
import { UserNetdev } from './user.js';

export { NetdevBase, DEFAULT_RX_QUEUE_LIMIT, type Netdev, type NetClient, type NetdevStats, type FrameObserver } from './netdev.js';
export { FramePort, FrameTimeoutError, StreamNetdev } from './stream.js';
export { SocketNetdev, NetdevConfigError, FrameDecoder, encodeFrame, parseHostPort, type SocketNetdevOptions } from './socket.js';
export { UserNetdev, type UserNetdevOptions, type HostForward } from './user.js';
export { TapNetdev, tapAvailability } from './tap.js';
export { PcapWriter, readPcap, PCAP_DEFAULT_SNAPLEN } from './pcap.js';
export * as packet from './packet.js';

/** A netdev plus what it needs before the guest starts. */
export interface CreatedNetdev {
  netdev: Netdev;
  /** Resolves once listeners are bound / the connection is up. */
  ready: Promise<void>;
}

export function createNetdev(cfg: NetdevConfig): CreatedNetdev {
  switch (cfg.kind) {
    case 'stream': {
      const n = new StreamNetdev(cfg.id, cfg.port);
      return { netdev: n, ready: Promise.resolve() };
    }
    case 'socket': {
      const n = new SocketNetdev(cfg.id, {
        ...(cfg.listen !== undefined ? { listen: cfg.listen } : {}),
        ...(cfg.connect !== undefined ? { connect: cfg.connect } : {}),
        ...(cfg.udp !== undefined ? { udp: cfg.udp } : {}),
        ...(cfg.localaddr !== undefined ? { localaddr: cfg.localaddr } : {}),
      });
      return { netdev: n, ready: n.ready };
    }
    case 'user': {
      const n = new UserNetdev(cfg.id, { ...(cfg.net !== undefined ? { net: cfg.net } : {}), hostfwd: cfg.hostfwd });
      return { netdev: n, ready: n.ready };
    }
    case 'tap': {
      // QEMU: script= / downscript= other than "no" run a helper; we run none.
      for (const s of [cfg.script, cfg.downscript]) {
        if (s !== undefined && s !== 'no') throw new NetdevConfigError('BAD_OPTIONS', `netdev ${cfg.id}: only script=no,downscript=no are supported`);
      }
      const n = new TapNetdev(cfg.id, cfg.ifname);
      return { netdev: n, ready: Promise.resolve() };
    }
    default: {
      const never: never = cfg;
      throw new NetdevConfigError('UNKNOWN_NETDEV', `unknown netdev ${JSON.stringify(never)}`);
    }
  }
}

/** Attach a filter-dump (pcap) to a netdev; returns the writer (close it when done). */
export function attachFilterDump(netdev: Netdev, f: FilterDumpConfig): PcapWriter {
  const w = new PcapWriter(f.file, f.maxlen);
  netdev.addObserver(w.observer());
  return w;
}
