/**
 * `--help` and `-version` texts, laid out like QEMU's so its users find their
 * way, plus the section issue 9 asks for: our defaults where they differ from
 * QEMU's, and why.
 */
import { DEFAULT_GDBSTUB_PORT } from './constants.js';

export const PROGRAM = 'microvm-ts';

/** The QEMU release whose command-line behaviour we follow (the reference used for the tests). */
export const QEMU_REFERENCE_VERSION = '7.2';

export function versionText(version: string): string {
  return [
    `${PROGRAM} version ${version}`,
    `QEMU microvm-compatible x86-64 machine (command line follows qemu-system-x86_64 ${QEMU_REFERENCE_VERSION})`,
  ].join('\n');
}

export const DEFAULTS_THAT_DIFFER = `Defaults that differ from QEMU's, and why:
  (so that "${PROGRAM} -kernel example" boots a TamaGo image with no other option;
   every option you give keeps its QEMU meaning)
-machine    microvm,x-option-roms=on,pit=off,pic=off,rtc=on,acpi=on,ioapic2=on,isa-serial=on
            QEMU's default machine is pc, and microvm's pit/pic default to auto (on
            under TCG). microvm-ts emulates only microvm and has no PIT or PIC; this
            is the configuration TamaGo's README uses. pit=auto/pic=auto mean off.
-m          4G (QEMU: 128M). TamaGo's board needs RAM up to at least 0x60000000
            (RamStart 0x10000000 + 1 GiB, DMA at 0x50000000 + 256 MiB). Guest RAM is
            reserved, not committed: pages the guest never touches cost nothing.
            -m 0 and -m "" mean this default, as they mean QEMU's default there.
-cpu        microvm-default (QEMU: qemu64): invariant TSC, kvmclock, TSC-deadline
            timer, RDRAND, 1 GiB pages (pdpe1gb) and the hypervisor bit, which
            TamaGo requires, plus every other feature the JIT implements. QEMU's
            TCG refuses invtsc and cannot run TamaGo at all. -cpu host is also
            accepted without KVM (QEMU refuses it) and means max, so the TamaGo
            README line works unchanged without -enable-kvm.
-accel      tcg, which here is the WebAssembly JIT; -enable-kvm / -accel kvm use
            /dev/kvm as in QEMU.
-serial     stdio even without -nographic (QEMU: a graphical console, or
            mon:stdio with -nographic). microvm-ts has no graphics and no monitor.
            -serial none, -nodefaults, or an explicit -serial work as in QEMU.
-display    none: there is no graphical display (QEMU: gtk or sdl).
-monitor    none: there is no monitor (QEMU: on the graphical console, or
            multiplexed on stdio with -nographic). Ctrl-A x still quits, Ctrl-A h
            lists the other keys, as in QEMU's stdio multiplexer.
-no-reboot  on (QEMU: off). A triple fault or reset request ends the process with
            status 0. TamaGo programs end with a triple fault; QEMU would reset
            and run them again for ever. -action reboot=reset restores QEMU's
            behaviour (the machine resets).
-smp        1, as QEMU. TamaGo's example Makefile passes -smp $(nproc); do the
            same to give the guest every host CPU.
isa-debug-exit is not added unless you ask for it (-device isa-debug-exit), as in QEMU.`;

export function helpText(version = ''): string {
  return `${PROGRAM}${version ? ` version ${version}` : ''}: an x86-64 emulator of QEMU's microvm machine
usage: ${PROGRAM} [options]
       ${PROGRAM}                 (no options: boot the bundled demo guest)

Options use qemu-system-x86_64 syntax: -opt and --opt are the same, an option's
value is the next argument (-opt value, not -opt=value), and option strings are
key=value,key=value lists where ",," stands for a comma.

Standard options:
-h or -help     display this help and exit
-version        display version information and exit
-machine [type=]microvm[,prop=value[,...]]
                microvm is the only machine. Properties:
                x-option-roms=on|off, isa-serial=on|off, rtc=on|off|auto,
                acpi=on|off|auto, ioapic2=on|off|auto, pit=off, pic=off,
                graphics=on|off, usb=off, pcie=off|auto, smm=off|auto,
                accel=kvm[:tcg], kernel=, initrd=, append=
                (-machine help, -machine microvm,help list them)
-M              same as -machine
-no-acpi        same as -machine acpi=off (deprecated in QEMU)
-accel [accel=]kvm|tcg[,kernel-irqchip=split]
                select the accelerator; tcg is the WebAssembly JIT. Several
                -accel options are tried in order (-accel kvm -accel tcg: KVM
                if /dev/kvm works, else the JIT)
-enable-kvm     same as -accel kvm
-cpu model[,+feature|-feature|feature=on|off][,tsc-frequency=HZ][,vendor=V][,phys-bits=N]
                models: microvm-default, max, host, qemu64, kvm64 (-cpu help lists
                models and feature names, e.g. -cpu host,invtsc=on,kvmclock=on)
-smp [cpus=]n[,maxcpus=n][,sockets=n][,cores=n][,threads=n]
                number of vCPUs (1..255) and topology, checked as QEMU does
                (modelled for now: one socket of n cores, one thread each)
-m [size=]megs[suffix]
                guest RAM: a number is MiB; suffixes B, K, M, G, T (powers of
                1024) and fractions (1.5G) as in QEMU; rounded up to 8 KiB
-name [guest=]name[,process=name]
                the guest's name; process= sets the process title

Boot options:
-kernel file    boot this image: ELF with a PVH note (Xen note type 18), or a
                multiboot image
-append cmdline the kernel command line
-initrd file    initial ramdisk (PVH module 0 / multiboot module)
-no-reboot      a triple fault or reset ends the process (status 0) instead of
                resetting the machine (our default, see below)
-action reboot=reset|shutdown
                reset: QEMU's default (a triple fault resets the machine);
                shutdown: same as -no-reboot

Devices and networking:
-device isa-debug-exit[,iobase=0x501][,iosize=2]
                a write of V to the port ends the process with status (V << 1) | 1
                (QEMU's defaults iobase=0x501,iosize=2; tests use iobase=0xf4,iosize=4)
-device virtio-net-device,netdev=id[,mac=52:54:00:12:34:56]
                virtio-net on the next free virtio-mmio transport (from the top:
                the first is 0xfeb02e00, GSI 47)
-netdev tap,id=id[,ifname=tap0][,script=no][,downscript=no]
-netdev user,id=id[,net=10.0.2.0/24][,hostfwd=[tcp|udp]:[haddr]:hport-[gaddr]:gport]
-netdev socket,id=id[,listen=[host]:port|connect=host:port|udp=host:port,localaddr=host:port]
-object filter-dump,id=id,netdev=dev,file=file.pcap[,maxlen=65536]
                capture a netdev's traffic to a pcap file (the only -object type)
-global driver.property=value  (or driver=D,property=P,value=V)
                known: virtio-mmio.force-legacy (off: virtio 1.x modern transports),
                virtio-mmio.ioeventfd, isa-debug-exit.iobase, isa-debug-exit.iosize,
                virtio-net-device.mac

Display, serial and monitor:
-nographic      no graphical output; the serial port is on stdio
-display none   no display (the only display)
-serial dev     stdio | none | null | file:path |
                tcp:[host]:port[,server=on|off][,wait=on|off]  (server,nowait also accepted)
-monitor none   the only monitor setting: there is no monitor
-nodefaults     no default devices (in particular no default serial backend)
-rtc base=utc[,clock=host][,driftfix=none]
                the RTC follows host time in UTC (the only setting)

Debugging:
-S              do not start the CPU at startup (use with -s/-gdb and 'continue' in GDB)
-s              shorthand for -gdb tcp::${DEFAULT_GDBSTUB_PORT}
-gdb tcp:[host]:port | none
                wait for a GDB connection on this TCP address
-d item1,...    enable logging of the items (-d help lists them)
-D logfile      write the log to logfile instead of stderr

During emulation with -serial stdio: Ctrl-A x exits, Ctrl-A h shows the other
keys, Ctrl-A t toggles timestamps (Ctrl-A c only says there is no monitor).

${DEFAULTS_THAT_DIFFER}

The TamaGo README command line is accepted verbatim: with -enable-kvm it runs on
KVM (the host's KVM must handle 1 GiB guest pages), without it on the JIT:
  ${PROGRAM} -machine microvm,x-option-roms=on,pit=off,pic=off,rtc=on \\
    -global virtio-mmio.force-legacy=false \\
    -enable-kvm -cpu host,invtsc=on,kvmclock=on -no-reboot \\
    -m 4G -nographic -monitor none -serial stdio \\
    -device virtio-net-device,netdev=net0 -netdev tap,id=net0,ifname=tap0,script=no,downscript=no \\
    -kernel example
`;
}
