#ifndef KVM_ABI_H
#define KVM_ABI_H
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif
struct kvm_abi_constant { const char *name; double value; };
int kvm_abi_buffer_ioctl(unsigned long req, size_t *header, size_t *entry_size);
const struct kvm_abi_constant *kvm_abi_constants(size_t *count);
#ifdef __cplusplus
}
#endif
#endif
