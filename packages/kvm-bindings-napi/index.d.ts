/**
 * Thin bindings for /dev/kvm. Structures are laid out by the caller
 * (microvm-ts src/kvm/abi.ts); the addon checks that buffers are large enough
 * for the ioctl's structure and accepts only KVM ioctls.
 * Errors are `Error`s with `errno` (number) and `code` ('EACCES', ...).
 */
export interface KvmErrnoError extends Error {
  errno: number;
  code: string;
  syscall: string;
}

/** Events posted by a vCPU thread to its `onEvent` callback. */
export type VcpuEventKind = 1 | 2 | 3;

export interface VcpuThread {
  /** The vCPU's mmap'ed `struct kvm_run` (KVM_GET_VCPU_MMAP_SIZE bytes). */
  readonly run: ArrayBuffer;
  /** 'parked' | 'running' | 'exit-pending' | 'stopped' */
  readonly state: string;
  /**
   * Enter KVM_RUN again (from parked or exit-pending). False if it was not
   * stopped. `cancelPause` drops a standing pause request (a fresh start);
   * without it an exit handler's resume completes the exit and then parks.
   */
  resume(cancelPause?: boolean): boolean;
  /** Ask the thread to park; true if an EVENT_PAUSED will follow. */
  requestPause(): boolean;
  /** Kick and join the thread (idempotent). */
  stop(): void;
  /** Keep the event loop alive while this vCPU may post events. */
  ref(): void;
  unref(): void;
}

export interface VcpuThreadConstructor {
  new (vcpuFd: number, mmapSize: number, onEvent: (kind: number, errno: number) => void): VcpuThread;
}

export interface KvmBindings {
  open(path: string): number;
  close(fd: number): void;
  /** ioctl with an integer argument (requests with no data direction only). */
  ioctl(fd: number, request: number, arg?: number): number;
  /** ioctl with a pointer to `buffer`'s bytes. */
  ioctlBuffer(fd: number, request: number, buffer: ArrayBufferView): number;
  /** KVM_SET_USER_MEMORY_REGION over `memory`'s bytes (page aligned); null deletes the slot. */
  setUserMemoryRegion(vmFd: number, slot: number, flags: number, gpa: bigint, memory: ArrayBufferView | null): void;
  readonly VcpuThread: VcpuThreadConstructor;
  /** ioctl numbers, capabilities, exit reasons, struct sizes and offsets from <linux/kvm.h>. */
  readonly constants: Readonly<Record<string, number>>;
  readonly EVENT_EXIT: 1;
  readonly EVENT_PAUSED: 2;
  readonly EVENT_ERROR: 3;
}

/** The addon, or null when it was not built (then `loadError` says why). */
export declare const bindings: KvmBindings | null;
export declare const loadError: Error | null;
