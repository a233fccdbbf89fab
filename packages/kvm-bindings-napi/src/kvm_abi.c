/*
 * ABI facts from <linux/kvm.h>, compiled as C on purpose: the uapi header's
 * flexible array members (__DECLARE_FLEX_ARRAY) have a different size in C++
 * (g++ 12 gives sizeof(struct kvm_cpuid2) == 12, not 8), which changes the
 * size encoded in ioctl numbers such as KVM_GET_SUPPORTED_CPUID. The kernel
 * was built as C, so C is the truth.
 */
#include <linux/kvm.h>
#include <stddef.h>
#include <signal.h>

#include "kvm_abi.h"

/* Buffer ioctls the addon lets JavaScript issue: those whose structures
 * hold no host pointers (a pointer in a buffer would let a caller make the
 * kernel read or write anywhere in this process; memory slots go through
 * setUserMemoryRegion instead). Returns 0 if `req` is not allowed; else 1
 * with, for variable-length structures, the header and entry sizes. */
int kvm_abi_buffer_ioctl(unsigned long req, size_t *header, size_t *entry_size) {
  *header = 0;
  *entry_size = 0;
  switch (req) {
    case KVM_GET_SUPPORTED_CPUID: case KVM_SET_CPUID2: case KVM_GET_CPUID2:
      *entry_size = sizeof(struct kvm_cpuid_entry2);
      *header = offsetof(struct kvm_cpuid2, entries);
      return 1;
    case KVM_GET_MSRS: case KVM_SET_MSRS:
      *entry_size = sizeof(struct kvm_msr_entry);
      *header = offsetof(struct kvm_msrs, entries);
      return 1;
    case KVM_GET_MSR_INDEX_LIST: case KVM_GET_MSR_FEATURE_INDEX_LIST:
      *entry_size = sizeof(__u32);
      *header = offsetof(struct kvm_msr_list, indices);
      return 1;
    case KVM_SET_GSI_ROUTING:
      *entry_size = sizeof(struct kvm_irq_routing_entry);
      *header = offsetof(struct kvm_irq_routing, entries);
      return 1;
    case KVM_ENABLE_CAP: case KVM_SIGNAL_MSI: case KVM_IRQ_LINE:
    case KVM_GET_REGS: case KVM_SET_REGS: case KVM_GET_SREGS: case KVM_SET_SREGS:
    case KVM_TRANSLATE: case KVM_GET_FPU: case KVM_SET_FPU:
    case KVM_GET_MP_STATE: case KVM_SET_MP_STATE: case KVM_SET_GUEST_DEBUG:
    case KVM_GET_LAPIC: case KVM_SET_LAPIC: case KVM_GET_VCPU_EVENTS: case KVM_SET_VCPU_EVENTS:
    case KVM_GET_DEBUGREGS: case KVM_SET_DEBUGREGS: case KVM_GET_CLOCK: case KVM_SET_CLOCK:
    case KVM_SET_IDENTITY_MAP_ADDR: case KVM_GET_XSAVE: case KVM_SET_XSAVE:
    case KVM_GET_XCRS: case KVM_SET_XCRS:
      return 1;
    default:
      return 0;
  }
}

#define C(name) { #name, (double)(name) }
#define SZ(t) { "sizeof_" #t, (double)sizeof(struct t) }
#define OFF(t, f, n) { "offsetof_" #t "_" n, (double)offsetof(struct t, f) }

static const struct kvm_abi_constant constants[] = {
  C(KVM_GET_API_VERSION), C(KVM_CREATE_VM), C(KVM_CHECK_EXTENSION), C(KVM_GET_VCPU_MMAP_SIZE),
  C(KVM_GET_SUPPORTED_CPUID), C(KVM_GET_MSR_INDEX_LIST), C(KVM_CREATE_VCPU), C(KVM_SET_USER_MEMORY_REGION),
  C(KVM_ENABLE_CAP), C(KVM_SET_GSI_ROUTING), C(KVM_SIGNAL_MSI), C(KVM_IRQ_LINE),
  C(KVM_RUN), C(KVM_GET_REGS), C(KVM_SET_REGS), C(KVM_GET_SREGS), C(KVM_SET_SREGS),
  C(KVM_TRANSLATE), C(KVM_GET_MSRS), C(KVM_SET_MSRS), C(KVM_GET_FPU), C(KVM_SET_FPU),
  C(KVM_SET_CPUID2), C(KVM_GET_CPUID2), C(KVM_GET_MP_STATE), C(KVM_SET_MP_STATE),
  C(KVM_SET_GUEST_DEBUG), C(KVM_GET_LAPIC), C(KVM_SET_LAPIC), C(KVM_GET_TSC_KHZ), C(KVM_SET_TSC_KHZ),
  C(KVM_GET_VCPU_EVENTS), C(KVM_SET_VCPU_EVENTS), C(KVM_GET_DEBUGREGS), C(KVM_SET_DEBUGREGS),
  C(KVM_GET_CLOCK), C(KVM_SET_CLOCK), C(KVM_GET_XSAVE), C(KVM_SET_XSAVE), C(KVM_GET_XCRS), C(KVM_SET_XCRS), C(KVM_KVMCLOCK_CTRL), C(KVM_SET_TSS_ADDR), C(KVM_SET_IDENTITY_MAP_ADDR),
  C(KVM_CAP_USER_MEMORY), C(KVM_CAP_SPLIT_IRQCHIP), C(KVM_CAP_IRQ_ROUTING), C(KVM_CAP_SIGNAL_MSI),
  C(KVM_CAP_TSC_DEADLINE_TIMER), C(KVM_CAP_SET_GUEST_DEBUG), C(KVM_CAP_IMMEDIATE_EXIT),
  C(KVM_CAP_GET_TSC_KHZ), C(KVM_CAP_MP_STATE), C(KVM_CAP_EXT_CPUID), C(KVM_CAP_MAX_VCPUS), C(KVM_CAP_NR_VCPUS),
  C(KVM_CAP_KVMCLOCK_CTRL), C(KVM_CAP_ADJUST_CLOCK), C(KVM_CAP_X2APIC_API),
  C(KVM_EXIT_IO), C(KVM_EXIT_MMIO), C(KVM_EXIT_HLT), C(KVM_EXIT_SHUTDOWN), C(KVM_EXIT_DEBUG),
  C(KVM_EXIT_FAIL_ENTRY), C(KVM_EXIT_INTERNAL_ERROR), C(KVM_EXIT_SYSTEM_EVENT), C(KVM_EXIT_IOAPIC_EOI),
  C(KVM_EXIT_INTR), C(KVM_EXIT_EXCEPTION), C(KVM_EXIT_UNKNOWN), C(KVM_EXIT_HYPERCALL),
  C(KVM_MP_STATE_RUNNABLE), C(KVM_MP_STATE_UNINITIALIZED), C(KVM_MP_STATE_INIT_RECEIVED),
  C(KVM_MP_STATE_HALTED), C(KVM_MP_STATE_SIPI_RECEIVED),
  C(KVM_GUESTDBG_ENABLE), C(KVM_GUESTDBG_SINGLESTEP), C(KVM_GUESTDBG_USE_SW_BP), C(KVM_GUESTDBG_USE_HW_BP),
  C(KVM_IRQ_ROUTING_MSI), C(KVM_CPUID_FLAG_SIGNIFCANT_INDEX),
  SZ(kvm_run), SZ(kvm_regs), SZ(kvm_sregs), SZ(kvm_fpu), SZ(kvm_segment), SZ(kvm_dtable),
  SZ(kvm_cpuid2), SZ(kvm_cpuid_entry2), SZ(kvm_msrs), SZ(kvm_msr_entry), SZ(kvm_irq_routing),
  SZ(kvm_irq_routing_entry), SZ(kvm_msi), SZ(kvm_guest_debug), SZ(kvm_lapic_state), SZ(kvm_enable_cap),
  SZ(kvm_translation), SZ(kvm_userspace_memory_region), SZ(kvm_irq_level),
  SZ(kvm_clock_data), SZ(kvm_xsave), SZ(kvm_xcrs),
  OFF(kvm_run, immediate_exit, "immediate_exit"), OFF(kvm_run, exit_reason, "exit_reason"),
  OFF(kvm_run, io.direction, "io_direction"), OFF(kvm_run, io.size, "io_size"), OFF(kvm_run, io.port, "io_port"),
  OFF(kvm_run, io.count, "io_count"), OFF(kvm_run, io.data_offset, "io_data_offset"),
  OFF(kvm_run, mmio.phys_addr, "mmio_phys_addr"), OFF(kvm_run, mmio.data, "mmio_data"),
  OFF(kvm_run, mmio.len, "mmio_len"), OFF(kvm_run, mmio.is_write, "mmio_is_write"),
  OFF(kvm_run, debug.arch.exception, "debug_exception"), OFF(kvm_run, debug.arch.pc, "debug_pc"),
  OFF(kvm_run, debug.arch.dr6, "debug_dr6"), OFF(kvm_run, debug.arch.dr7, "debug_dr7"),
  OFF(kvm_run, fail_entry.hardware_entry_failure_reason, "fail_entry_reason"),
  OFF(kvm_run, fail_entry.cpu, "fail_entry_cpu"),
  OFF(kvm_run, internal.suberror, "internal_suberror"), OFF(kvm_run, internal.ndata, "internal_ndata"),
  OFF(kvm_run, internal.data, "internal_data"),
  OFF(kvm_run, system_event.type, "system_event_type"), OFF(kvm_run, system_event.ndata, "system_event_ndata"),
  OFF(kvm_run, system_event.data, "system_event_data"), OFF(kvm_run, eoi.vector, "eoi_vector"),
  OFF(kvm_sregs, gdt, "gdt"), OFF(kvm_sregs, idt, "idt"), OFF(kvm_sregs, cr0, "cr0"), OFF(kvm_sregs, apic_base, "apic_base"),
  OFF(kvm_sregs, interrupt_bitmap, "interrupt_bitmap"),
  OFF(kvm_segment, selector, "selector"), OFF(kvm_segment, type, "type"), OFF(kvm_segment, unusable, "unusable"),
  OFF(kvm_fpu, fcw, "fcw"), OFF(kvm_fpu, mxcsr, "mxcsr"),
  OFF(kvm_irq_routing_entry, u, "u"), OFF(kvm_translation, valid, "valid"),
  OFF(kvm_guest_debug, arch, "arch"),
};

const struct kvm_abi_constant *kvm_abi_constants(size_t *count) {
  *count = sizeof(constants) / sizeof(constants[0]);
  return constants;
}
