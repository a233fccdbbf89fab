/**
 * QEMU's size syntax (util/cutils.c do_strtosz, QEMU 7.2): a decimal integer
 * (or hex `0x...` with no fraction and no suffix), an optional fraction, and
 * an optional suffix B/K/M/G/T/P/E (case-insensitive, powers of 1024). A
 * fraction needs a suffix other than B; the fractional part is rounded to the
 * nearest byte (half up). Exponents and negative numbers are refused.
 */

const SUFFIX_SHIFT: Readonly<Record<string, bigint>> = {
  B: 0n, K: 10n, M: 20n, G: 30n, T: 40n, P: 50n, E: 60n,
};

const U64_LIMIT = 1n << 64n;

/**
 * Parse `text` as a byte count. `defaultSuffix` applies when none is written
 * (QemuOpts' QEMU_OPT_SIZE uses 'B'). Returns undefined when QEMU would
 * refuse the string ("expects a non-negative number below 2^64").
 */
export function parseQemuSize(text: string, defaultSuffix: keyof typeof SUFFIX_SHIFT = 'B'): bigint | undefined {
  const hex = /^0[xX]([0-9a-fA-F]+)$/.exec(text);
  if (hex) {
    const v = BigInt(`0x${hex[1] ?? ''}`);
    return v < U64_LIMIT ? v : undefined;
  }
  const m = /^([0-9]+)(\.[0-9]*)?([bBkKmMgGtTpPeE]?)$/.exec(text);
  if (!m) return undefined;
  const intPart = BigInt(m[1] ?? '0');
  const fracDigits = (m[2] ?? '').slice(1);
  const suffix = (m[3] ?? '').toUpperCase() || defaultSuffix;
  const shift = SUFFIX_SHIFT[suffix];
  if (shift === undefined) return undefined;
  const hasFraction = /[1-9]/.test(fracDigits);
  // "When a fraction is present, a scale is required."
  if (hasFraction && shift === 0n) return undefined;
  let value = intPart << shift;
  if (hasFraction) {
    // Exact: frac = digits / 10^n; bytes = round_half_up(frac * 2^shift).
    const num = BigInt(fracDigits) << shift;
    const den = 10n ** BigInt(fracDigits.length);
    value += (2n * num + den) / (2n * den);
  }
  return value < U64_LIMIT ? value : undefined;
}

/** The hint QEMU prints after a bad size. */
export const SIZE_SYNTAX_HINT =
  'expects a non-negative number below 2^64\n' +
  'Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n' +
  'and exabytes, respectively.';

/** Format a byte count the way our messages and help do: 4 GiB, 512 MiB, 12345 B. */
export function formatSize(bytes: number): string {
  const units: Array<[number, string]> = [[2 ** 40, 'TiB'], [2 ** 30, 'GiB'], [2 ** 20, 'MiB'], [2 ** 10, 'KiB']];
  for (const [u, name] of units) if (bytes >= u && bytes % u === 0) return `${bytes / u} ${name}`;
  return `${bytes} B`;
}
