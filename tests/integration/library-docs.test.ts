// Every ```ts example in docs/library.md and in the README's library section
// (from the heading `### As a library` to the next `## ` heading) runs as
// written, importing 'microvm-ts' from src/. An example
// that fails only with NotSupportedError (an accelerator member not there
// yet) is skipped with that reason, so it starts passing when the member lands.
import { describe, expect, test } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NotSupportedError } from '../../src/index.js';
import { haveFirmware } from './library-helpers.js';

const root = new URL('../../', import.meta.url).pathname;
const INDEX = join(root, 'src/index.ts');

function examples(file: string, only?: [string, string]): string[] {
  if (!existsSync(join(root, file))) return [];
  let text = readFileSync(join(root, file), 'utf8');
  if (only) {
    const a = text.indexOf(only[0]);
    const b = text.indexOf(only[1], a + only[0].length);
    if (a < 0 || b < a) return [];
    text = text.slice(a, b);
  }
  return [...text.matchAll(/```ts\n([^]*?)```/g)].map((m) => m[1]!);
}

const docs = examples('docs/library.md');
const readme = examples('README.md', ['### As a library', '\n## ']);

describe.skipIf(!haveFirmware)('library documentation examples run', () => {
  test('docs/library.md and the README have examples', () => {
    expect(docs.length).toBeGreaterThanOrEqual(6);
    expect(readme.length).toBeGreaterThanOrEqual(1);
  });

  const all = [...docs.map((code, i) => ({ where: `docs/library.md #${i + 1}`, code })), ...readme.map((code, i) => ({ where: `README.md #${i + 1}`, code }))];
  for (const { where, code } of all) {
    test(where, async (ctx) => {
      const dir = mkdtempSync(join(tmpdir(), 'mvm-doc-'));
      try {
        const file = join(dir, 'example.ts');
        writeFileSync(file, code.replaceAll("from 'microvm-ts'", `from '${INDEX}'`));
        try {
          await import(/* @vite-ignore */ file);
        } catch (e) {
          if (e instanceof NotSupportedError) ctx.skip(e.message);
          throw e;
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 120_000);
  }
});
