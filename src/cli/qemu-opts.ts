/**
 * QEMU's option-string syntax (util/qemu-option.c, QEMU 7.2):
 * `key=value,key=value`, the first element may omit its key ("implied key":
 * `-machine microvm,pit=off` means `type=microvm,pit=off`), and `,,` inside
 * a value stands for a literal comma. Value parsers follow QEMU's visitors:
 * booleans (qapi_bool_parse), OnOffAuto, integers (strtoull base 0) and sizes.
 */
import { CliError } from './errors.js';
import { parseQemuSize, SIZE_SYNTAX_HINT } from './size.js';

export interface OptPair {
  readonly key: string;
  readonly value: string;
}

export interface SplitOptions {
  /** Key given to a first element written without `=`. */
  impliedKey?: string;
  /**
   * Allow QEMU's legacy short-form booleans: `flag` = `flag=on`,
   * `noflag` = `flag=off` (still accepted by chardev options such as
   * `-serial tcp::4444,server,nowait`). Otherwise `flag` alone is an error,
   * as with `-machine` ("Expected '=' after parameter").
   */
  shortBooleans?: ReadonlySet<string>;
}

/**
 * Split an option string into ordered key/value pairs. `where` prefixes error
 * messages (QEMU prints the option and its argument: `-m 4G,foo=1: ...`).
 */
export function splitOpts(text: string, where: string, opts: SplitOptions = {}): OptPair[] {
  const out: OptPair[] = [];
  // qemu-option.c opts_do_parse loops while *p: an empty string has no elements, not an empty implied value.
  if (text === '') return out;
  let i = 0;
  let first = true;
  while (i <= text.length) {
    // Name: up to '=' or ','. QEMU's get_opt_name does not unescape ",," in names.
    let j = i;
    while (j < text.length && text[j] !== '=' && text[j] !== ',') j++;
    if (j < text.length && text[j] === '=') {
      const key = text.slice(i, j);
      const [value, next] = readValue(text, j + 1);
      if (key === '') throw new CliError('BAD_VALUE', `${where}: Invalid parameter ''`);
      out.push({ key, value });
      i = next;
    } else if (first && opts.impliedKey !== undefined) {
      const [value, next] = readValue(text, i);
      out.push({ key: opts.impliedKey, value });
      i = next;
    } else {
      const name = text.slice(i, j);
      if (name === '' && j >= text.length) break; // trailing comma or empty string
      const short = opts.shortBooleans;
      if (short?.has(name)) {
        out.push({ key: name, value: 'on' });
      } else if (name.startsWith('no') && short?.has(name.slice(2))) {
        out.push({ key: name.slice(2), value: 'off' });
      } else {
        throw new CliError('BAD_VALUE', `${where}: Expected '=' after parameter '${name}'`);
      }
      i = j + 1;
    }
    first = false;
    if (i >= text.length) break;
  }
  return out;
}

/** A value runs to the next single ','; ",," is a literal comma. Returns [value, index after the separator]. */
function readValue(text: string, start: number): [string, number] {
  let v = '';
  let k = start;
  while (k < text.length) {
    const c = text[k];
    if (c === ',') {
      if (text[k + 1] === ',') { v += ','; k += 2; continue; }
      return [v, k + 1];
    }
    v += c;
    k++;
  }
  return [v, k];
}

/**
 * Check every key is in `allowed`; the last value of a key wins (QEMU's
 * QemuOpts lookup takes the last). Keys in `unsupported` are QEMU parameters
 * microvm-ts does not implement: a clearer message than "Invalid parameter".
 */
export function optsToMap(
  pairs: readonly OptPair[], where: string, allowed: ReadonlySet<string>, unsupported: ReadonlySet<string> = new Set(),
): Map<string, string> {
  const m = new Map<string, string>();
  for (const { key, value } of pairs) {
    if (!allowed.has(key)) {
      if (unsupported.has(key)) {
        throw new CliError('UNSUPPORTED', `${where}: parameter '${key}' is not supported by microvm-ts`);
      }
      throw new CliError('BAD_VALUE', `${where}: Invalid parameter '${key}'`);
    }
    m.set(key, value);
  }
  return m;
}

/** qapi_bool_parse: on/yes/true/y and off/no/false/n, case-sensitive. */
export function parseBool(value: string, param: string, where: string): boolean {
  switch (value) {
    case 'on': case 'yes': case 'true': case 'y': return true;
    case 'off': case 'no': case 'false': case 'n': return false;
    default: throw new CliError('BAD_VALUE', `${where}: Parameter '${param}' expects 'on' or 'off'`);
  }
}

export type OnOffAuto = 'on' | 'off' | 'auto';

/** QAPI OnOffAuto: exactly on, off or auto (QEMU refuses 'yes' here). */
export function parseOnOffAuto(value: string, param: string, where: string): OnOffAuto {
  if (value === 'on' || value === 'off' || value === 'auto') return value;
  throw new CliError('BAD_VALUE', `${where}: Parameter '${param}' does not accept value '${value}'`);
}

/**
 * An unsigned integer as QEMU's visitors read it (strtoull, base 0): decimal,
 * 0x hex, or octal with a leading 0. Range-checked against [min, max].
 */
export function parseUint(value: string, param: string, where: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  let n: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(value)) n = Number.parseInt(value.slice(2), 16);
  else if (/^0[0-7]+$/.test(value)) n = Number.parseInt(value.slice(1), 8);
  else if (/^(0|[1-9][0-9]*)$/.test(value)) n = Number(value);
  else throw new CliError('BAD_VALUE', `${where}: Parameter '${param}' expects integer`);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new CliError('BAD_VALUE', `${where}: Parameter '${param}' expects a value in ${min}..${max}, got '${value}'`);
  }
  return n;
}

/** A byte size in QEMU's syntax (default suffix B), as a safe integer. */
export function parseSizeParam(value: string, param: string, where: string): number {
  const v = parseQemuSize(value, 'B');
  if (v === undefined || v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new CliError('BAD_VALUE', `${where}: Parameter '${param}' ${SIZE_SYNTAX_HINT}`);
  }
  return Number(v);
}

/** QEMU id syntax (util/id.c id_wellformed): a letter, then letters, digits, '-', '.', '_'. */
export function isWellFormedId(id: string): boolean {
  return /^[A-Za-z][A-Za-z0-9_.-]*$/.test(id);
}

export function parseId(value: string, where: string): string {
  if (!isWellFormedId(value)) {
    throw new CliError('BAD_VALUE', `${where}: Parameter 'id' expects an identifier\n` +
      `Identifiers consist of letters, digits, '-', '.', '_', starting with a letter.`);
  }
  return value;
}
