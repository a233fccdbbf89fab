/**
 * MachineConfig: the one typed description of a machine. The CLI builds it
 * from QEMU-style options; library users build it directly. Validation lives
 * in `validateConfig` (src/machine/validate.ts).
 */
export type SerialConfig =
  | { kind: 'stdio' }
  | { kind: 'none' }
  | { kind: 'null' }
  | { kind: 'file'; path: string }
  | { kind: 'tcp'; host: string; port: number; server: boolean; wait: boolean }
  /** In-process: the library exposes the console as a stream. */
  | { kind: 'stream' };

export type NetdevConfig =
  | { kind: 'tap'; id: string; ifname?: string; script?: string; downscript?: string }
  | { kind: 'user'; id: string; net?: string; hostfwd: Array<{ proto: 'tcp' | 'udp'; hostAddr?: string; hostPort: number; guestAddr?: string; guestPort: number }> }
  | { kind: 'socket'; id: string; listen?: string; connect?: string; udp?: string; localaddr?: string }
  /** In-process (library/tests): frames to and from `port` (src/net/stream.ts); one is created if absent. */
  | { kind: 'stream'; id: string; port?: import('../net/stream.js').FramePort };

/** QEMU's `-object filter-dump,id=ID,netdev=NETDEV,file=FILE[,maxlen=N]`: pcap capture of a netdev. */
export interface FilterDumpConfig { id: string; netdev: string; file: string; maxlen?: number }

export type DeviceConfig =
  | { driver: 'isa-debug-exit'; iobase: number; iosize: number }
  | { driver: 'virtio-net-device'; netdev: string; mac?: string };

export interface MicrovmOptions {
  xOptionRoms: boolean;
  pit: boolean;
  pic: boolean;
  rtc: boolean;
  acpi: boolean;
  ioapic2: boolean;
  isaSerial: boolean;
}

export interface CpuConfig {
  /** 'host', 'max', or a named model. */
  model: string;
  /** Feature overrides: +feat / -feat / feat=on|off. */
  features: Record<string, boolean>;
  /** `-cpu ...,vendor=`: CPUID vendor string; default: the model's. */
  vendor?: 'GenuineIntel' | 'AuthenticAMD';
  /** `-cpu ...,tsc-frequency=HZ` / 1000: TSC frequency the guest sees, in kHz. */
  tscKhz?: number;
  /** `-cpu ...,phys-bits=N`: MAXPHYADDR reported in CPUID.80000008H. */
  physBits?: number;
}

/** `-smp` topology (QEMU hw/core/machine-smp.c); sockets*dies*cores*threads = maxCpus. */
export interface SmpTopology {
  sockets: number;
  dies: number;
  cores: number;
  threads: number;
  maxCpus: number;
}

export interface MachineConfig {
  machine: MicrovmOptions;
  /** Guest RAM in bytes. */
  memory: number;
  cpus: number;
  /** `-smp` topology; absent means what QEMU computes for `-smp N`: 1 socket of N cores, 1 thread each. */
  topology?: SmpTopology;
  cpu: CpuConfig;
  accel: 'jit' | 'kvm' | 'auto';
  kernel: string | Uint8Array;
  append?: string;
  initrd?: string | Uint8Array;
  serial: SerialConfig;
  noReboot: boolean;
  devices: DeviceConfig[];
  netdevs: NetdevConfig[];
  /** pcap captures of netdevs (-object filter-dump). */
  filterDumps?: FilterDumpConfig[];
  /** -global driver.property=value */
  globals: Array<{ driver: string; property: string; value: string }>;
  gdb?: { host: string; port: number };
  startPaused: boolean;
  log?: { items: string[]; file?: string };
  /** `-name guest=`: the guest's name (messages, GDB). */
  name?: string;
  /** `-name ...,process=`: the host process title. */
  processName?: string;
}

/** QEMU microvm defaults for its -machine options. */
export const MICROVM_DEFAULTS: MicrovmOptions = {
  xOptionRoms: true, pit: true, pic: true, rtc: true, acpi: true, ioapic2: true, isaSerial: true,
};
