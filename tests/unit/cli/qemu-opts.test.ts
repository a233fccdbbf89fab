// QemuOpts option strings (util/qemu-option.c) and value parsers.
import { describe, expect, test } from 'vitest';
import { isWellFormedId, parseBool, parseOnOffAuto, parseUint, splitOpts, type OptPair } from '../../../src/cli/qemu-opts.js';
import { CliError } from '../../../src/cli/errors.js';

const p = (key: string, value: string): OptPair => ({ key, value });

describe('splitOpts', () => {
  const cases: Array<[string, string | undefined, OptPair[]]> = [
    ['microvm,pit=off', 'type', [p('type', 'microvm'), p('pit', 'off')]],
    ['type=microvm,pit=off', 'type', [p('type', 'microvm'), p('pit', 'off')]],
    ['a=1,b=2', undefined, [p('a', '1'), p('b', '2')]],
    ['a=x,,y,b=2', undefined, [p('a', 'x,y'), p('b', '2')]],
    ['a=x,,,,y', undefined, [p('a', 'x,,y')]],
    ['a=x,,', undefined, [p('a', 'x,')]],
    ['file,,name,a=1', 'path', [p('path', 'file,name'), p('a', '1')]],
    ['a=', undefined, [p('a', '')]],
    ['a=1,', undefined, [p('a', '1')]],
    ['a=b=c', undefined, [p('a', 'b=c')]],
    ['', 'size', []],
    ['4G', 'size', [p('size', '4G')]],
    ['a=1,a=2', undefined, [p('a', '1'), p('a', '2')]],
  ];
  for (const [text, implied, want] of cases) {
    test(`'${text}'`, () => expect(splitOpts(text, 'where', implied === undefined ? {} : { impliedKey: implied })).toEqual(want));
  }
  test('short-form booleans only where allowed', () => {
    const flags = new Set(['server', 'wait']);
    expect(splitOpts('server,nowait', 'w', { shortBooleans: flags })).toEqual([p('server', 'on'), p('wait', 'off')]);
    expect(() => splitOpts('a=1,server', 'w')).toThrow("w: Expected '=' after parameter 'server'");
    expect(() => splitOpts('a=1,other', 'w', { shortBooleans: flags })).toThrow("w: Expected '=' after parameter 'other'");
  });
  test("'=1' has an empty key", () => expect(() => splitOpts('=1', 'w')).toThrow(CliError));
});

describe('value parsers', () => {
  test('bool: qapi_bool_parse spellings, case-sensitive', () => {
    for (const v of ['on', 'yes', 'true', 'y']) expect(parseBool(v, 'p', 'w')).toBe(true);
    for (const v of ['off', 'no', 'false', 'n']) expect(parseBool(v, 'p', 'w')).toBe(false);
    for (const v of ['On', 'TRUE', '1', '0', '', 'auto']) expect(() => parseBool(v, 'p', 'w')).toThrow("w: Parameter 'p' expects 'on' or 'off'");
  });
  test('OnOffAuto: on, off, auto only', () => {
    for (const v of ['on', 'off', 'auto'] as const) expect(parseOnOffAuto(v, 'p', 'w')).toBe(v);
    for (const v of ['yes', 'no', 'true', 'ON', '']) expect(() => parseOnOffAuto(v, 'p', 'w')).toThrow(`w: Parameter 'p' does not accept value '${v}'`);
  });
  test('integers: strtoull base 0', () => {
    const cases: Array<[string, number]> = [['0', 0], ['10', 10], ['0x1f', 31], ['0X1F', 31], ['010', 8], ['0xf4', 244]];
    for (const [t, n] of cases) expect(parseUint(t, 'p', 'w')).toBe(n);
    for (const t of ['', '-1', '1k', '08', '0x', '1.0', ' 1', '+1']) expect(() => parseUint(t, 'p', 'w')).toThrow("w: Parameter 'p' expects integer");
    expect(() => parseUint('300', 'p', 'w', 0, 255)).toThrow("w: Parameter 'p' expects a value in 0..255, got '300'");
  });
  test('identifiers (util/id.c)', () => {
    for (const id of ['a', 'net0', 'a.b-c_d', 'Z9']) expect(isWellFormedId(id)).toBe(true);
    for (const id of ['', '0a', '-a', 'a b', 'a,b', 'a/b', '_a']) expect(isWellFormedId(id)).toBe(false);
  });
});
