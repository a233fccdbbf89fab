/*
 * A multiboot guest that prints CPUID for a fixed list of (leaf, subleaf) to
 * COM1 as "CPUID leaf subleaf eax ebx ecx edx" (hex), then "END", then writes
 * isa-debug-exit. Used to read QEMU TCG's CPUID models as an oracle.
 * Build: gcc -m32 -ffreestanding -fno-pic -fno-stack-protector
 *        -fno-asynchronous-unwind-tables -nostdlib -static -O1 -T cpuid-dump.ld
 */
__attribute__((section(".multiboot"), used, aligned(4))) static const unsigned mb[3] = {0x1BADB002u, 0u, (unsigned)-(0x1BADB002u)};
static inline void outb(unsigned short p, unsigned char v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(p)); }
static inline unsigned char inb(unsigned short p) { unsigned char v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }
/* Wait for LSR.THRE (16550 LSR bit 5) so no character is overwritten in THR. */
static void putc_(char c) { while (!(inb(0x3fd) & 0x20)) {} outb(0x3f8, (unsigned char)c); }
static void puts_(const char *s) { while (*s) putc_(*s++); }
static void hex(unsigned v) { char b[9]; for (int i = 7; i >= 0; i--) { unsigned d = v & 15; b[i] = d < 10 ? '0' + d : 'a' + d - 10; v >>= 4; } b[8] = 0; puts_(b); }
static const unsigned leaves[][2] = {
  {0,0},{1,0},{6,0},{7,0},{0xb,0},{0xb,1},{0xd,0},{0x80000000,0},{0x80000001,0},{0x80000002,0},{0x80000003,0},{0x80000004,0},
  {0x80000005,0},{0x80000006,0},{0x80000007,0},{0x80000008,0},{0x40000000,0},{0x40000001,0},
};
__asm__(".globl _start\n_start:\n mov $0x90000, %esp\n call cmain\n1: hlt\n jmp 1b\n");
void cmain(void) {
  for (unsigned i = 0; i < sizeof leaves / sizeof leaves[0]; i++) {
    unsigned a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(leaves[i][0]), "c"(leaves[i][1]));
    puts_("CPUID "); hex(leaves[i][0]); puts_(" "); hex(leaves[i][1]); puts_(" "); hex(a); puts_(" "); hex(b); puts_(" "); hex(c); puts_(" "); hex(d); puts_("\n");
  }
  puts_("END\n");
  outb(0xf4, 0);
}
