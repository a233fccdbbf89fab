/**
 * The terminal escape commands of QEMU's multiplexed console (chardev/char-mux.c):
 * `C-a` followed by a command key. A pure byte-stream decoder, so the stdio
 * backend stays thin and the table is testable.
 *
 *   C-a h / C-a ?   print help          C-a x   exit emulator
 *   C-a s           save disk data      C-a t   toggle console timestamps
 *   C-a b           send break          C-a c   switch to the monitor
 *   C-a C-a         send C-a itself
 *
 * Any other key after C-a is swallowed, as in QEMU. With `signal` on, Ctrl-C
 * outside an escape is reported as an interrupt instead of being passed to the
 * guest (QEMU's stdio chardev `signal=on`, its default).
 */

export const ESCAPE_CHAR = 0x01; // C-a
export const CTRL_C = 0x03;

export type EscapeEvent =
  | { kind: 'data'; bytes: Uint8Array }
  | { kind: 'help' }
  | { kind: 'quit' }
  | { kind: 'save' }
  | { kind: 'timestamps' }
  | { kind: 'break' }
  | { kind: 'monitor' }
  | { kind: 'interrupt' };

const COMMANDS: Readonly<Record<string, EscapeEvent['kind']>> = {
  h: 'help',
  '?': 'help',
  x: 'quit',
  s: 'save',
  t: 'timestamps',
  b: 'break',
  c: 'monitor',
};

/** Help text in QEMU's wording (mux_print_help), with "\n\r" line ends for a raw terminal. */
export function escapeHelpText(): string {
  const e = 'C-a';
  return (
    '\n\r' +
    `${e} h    print this help\n\r` +
    `${e} x    exit emulator\n\r` +
    `${e} s    save disk data back to file (if -snapshot)\n\r` +
    `${e} t    toggle console timestamps\n\r` +
    `${e} b    send break (magic sysrq)\n\r` +
    `${e} c    switch between console and monitor\n\r` +
    `${e} ${e}  sends ${e}\n\r`
  );
}

export class EscapeDecoder {
  private gotEscape = false;

  constructor(private readonly opts: { signal: boolean } = { signal: true }) {}

  /** Decode a chunk of terminal input into guest data and commands, in order. */
  feed(input: Uint8Array): EscapeEvent[] {
    const events: EscapeEvent[] = [];
    let start = 0; // start of the current run of plain data in `input`
    const flush = (end: number) => {
      if (end > start) events.push({ kind: 'data', bytes: input.slice(start, end) });
    };
    for (let i = 0; i < input.length; i++) {
      const ch = input[i] ?? 0;
      if (this.gotEscape) {
        this.gotEscape = false;
        if (ch === ESCAPE_CHAR) {
          start = i; // C-a C-a: the second one is data
          continue;
        }
        const cmd = COMMANDS[String.fromCharCode(ch)];
        if (cmd) events.push({ kind: cmd } as EscapeEvent);
        start = i + 1;
        continue;
      }
      if (ch === ESCAPE_CHAR) {
        flush(i);
        this.gotEscape = true;
        start = i + 1;
      } else if (ch === CTRL_C && this.opts.signal) {
        flush(i);
        events.push({ kind: 'interrupt' });
        start = i + 1;
      }
    }
    if (!this.gotEscape) flush(input.length);
    return events;
  }
}
