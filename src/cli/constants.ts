/** QEMU's DEFAULT_GDBSTUB_PORT (include/exec/gdbstub.h), used by `-s`. */
export const DEFAULT_GDBSTUB_PORT = 1234;
