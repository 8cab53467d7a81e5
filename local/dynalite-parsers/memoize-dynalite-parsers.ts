import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import peg from 'pegjs';

/** The dynalite release whose grammars are in this folder. */
export const GRAMMAR_VERSION = '4.0.0';
export const PARSERS = ['conditionParser', 'updateParser', 'projectionParser'] as const;
export type Parser = (typeof PARSERS)[number];
/**
 * The parsers the cache speeds up. Conditions nest parentheses, which a PEG parser re-parses for each alternative
 * (the claim's condition: 2.5 → 0.18 ms). Update expressions do not backtrack: the cache only adds its bookkeeping
 * (the claim's update: 0.44 → 0.64 ms), so the update and projection parsers stay as dynalite ships them.
 */
export const MEMOIZED_PARSERS: readonly Parser[] = ['conditionParser'];

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const dynaliteRoot = dirname(require.resolve('dynalite/package.json'));

/** dynalite's build: `pegjs <grammar>` (CommonJS source), with or without the results cache. */
export const generateParser = (parser: Parser, cache: boolean) =>
  peg.generate(readFileSync(join(here, `${parser}.pegjs`), 'utf8'), { output: 'source', format: 'commonjs', cache });

export const installedParserFile = (parser: Parser) => join(dynaliteRoot, 'db', `${parser}.js`);

/**
 * What the installed dynalite's parser is: the memoized build, the one dynalite ships, or neither (another
 * version). Throws if the installed dynalite is not the grammars' version.
 */
export const installedParserState = (parser: Parser): 'memoized' | 'shipped' | 'unknown' => {
  const { version } = JSON.parse(readFileSync(join(dynaliteRoot, 'package.json'), 'utf8')) as { version: string };
  if (version !== GRAMMAR_VERSION) {
    throw new Error(`dynalite ${version} is installed; local/dynalite-parsers holds the grammars of ${GRAMMAR_VERSION}`);
  }
  const installed = readFileSync(installedParserFile(parser), 'utf8');
  if (installed === generateParser(parser, true)) return 'memoized';
  return installed === generateParser(parser, false) ? 'shipped' : 'unknown';
};

/** Replaces the installed dynalite's MEMOIZED_PARSERS with memoized builds of the same grammars (README.md). */
export const memoizeDynaliteParsers = (): string[] => {
  const written: string[] = [];
  for (const parser of MEMOIZED_PARSERS) {
    const state = installedParserState(parser);
    if (state === 'memoized') continue;
    const file = installedParserFile(parser);
    if (state === 'unknown') throw new Error(`${file} is not dynalite ${GRAMMAR_VERSION}'s ${parser}: not replaced`);
    writeFileSync(file, generateParser(parser, true));
    written.push(file);
  }
  return written;
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const written = memoizeDynaliteParsers();
  console.log(written.length > 0 ? `memoized: ${written.join(', ')}` : `already memoized: ${MEMOIZED_PARSERS.join(', ')}`);
}
