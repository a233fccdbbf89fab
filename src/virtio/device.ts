/**
 * What a virtio device (net, ...) needs from its transport and offers to it.
 * The transport (virtio-mmio) owns the registers, the status and feature
 * negotiation and the queues' guest-programmed state; the device owns its
 * configuration space and what the queues carry.
 */
import type { Virtqueue } from './virtqueue.js';

// virtio 1.2 §2.1: device status field.
export const VIRTIO_STATUS_ACKNOWLEDGE = 1;
export const VIRTIO_STATUS_DRIVER = 2;
export const VIRTIO_STATUS_DRIVER_OK = 4;
export const VIRTIO_STATUS_FEATURES_OK = 8;
export const VIRTIO_STATUS_DEVICE_NEEDS_RESET = 0x40;
export const VIRTIO_STATUS_FAILED = 0x80;

// virtio 1.2 §6: reserved feature bits.
export const VIRTIO_F_NOTIFY_ON_EMPTY = 24; // legacy only
export const VIRTIO_F_ANY_LAYOUT = 27; // legacy only (implied by VERSION_1)
export const VIRTIO_F_INDIRECT_DESC = 28;
export const VIRTIO_F_EVENT_IDX = 29;
export const VIRTIO_F_VERSION_1 = 32;
export const VIRTIO_F_RING_RESET = 40;

/** Feature bit n as a bigint mask. */
export function bit(n: number): bigint {
  return 1n << BigInt(n);
}

export function hasFeature(features: bigint, n: number): boolean {
  return (features & bit(n)) !== 0n;
}

/** The transport as a device sees it. */
export interface VirtioTransportContext {
  /** Features the driver accepted (valid once DRIVER_OK). */
  readonly driverFeatures: bigint;
  /** True for a virtio 1.x (modern) driver: VERSION_1 negotiated. */
  readonly modern: boolean;
  queue(index: number): Virtqueue | undefined;
  /** The device put buffers in `queue`'s used ring: interrupt the driver if it wants one. */
  usedBuffers(queue: number): void;
  /** The configuration space changed (virtio 1.2 §2.5.1): bump the generation, raise the config interrupt. */
  configChanged(): void;
  /** The driver did something illegal: set DEVICE_NEEDS_RESET (§2.1.1) and stop the device. */
  needsReset(reason: string): void;
  /** True between DRIVER_OK and the next reset, unless the device is broken. */
  readonly live: boolean;
}

export interface VirtioDevice {
  /** virtio 1.2 §5: 1 network card. */
  readonly deviceId: number;
  /** QueueNumMax per queue; the number of entries is the number of queues. */
  readonly queueMaxSizes: readonly number[];
  /** Feature bits offered; `modern` is the transport version (legacy transports offer no bits above 31). */
  deviceFeatures(modern: boolean): bigint;
  readonly configSize: number;
  readConfig(offset: number, size: 1 | 2 | 4): number;
  writeConfig(offset: number, size: 1 | 2 | 4, value: number): void;
  /** Called once by the transport that owns the device. */
  bind(ctx: VirtioTransportContext): void;
  /** DRIVER_OK: the driver finished setup. */
  activate(): void;
  /** Device reset (status 0 written, or the machine reset). */
  reset(): void;
  /** The driver notified `queue` (QueueNotify). */
  queueNotify(queue: number): void;
  /** One queue was reset through QueueReset (virtio 1.2 §2.6.1). */
  queueReset?(queue: number): void;
}
