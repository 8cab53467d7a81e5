import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  generateParser,
  installedParserState,
  MEMOIZED_PARSERS,
  type Parser,
  PARSERS,
} from '../../local/dynalite-parsers/memoize-dynalite-parsers.js';

interface PegParser {
  parse(input: string, options: { context: Record<string, unknown> }): unknown;
}

const folder = mkdtempSync(join(tmpdir(), 'dynalite-parsers-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** A generated parser, loaded from a file as dynalite loads its own. */
const load = (parser: Parser, cache: boolean): PegParser => {
  const file = join(folder, `${parser}.${cache ? 'memoized' : 'shipped'}.cjs`);
  if (!existsSync(file)) writeFileSync(file, generateParser(parser, cache));
  return createRequire(import.meta.url)(file) as PegParser;
};

/**
 * dynalite's `db.compare` (for BETWEEN bounds of two literals) comes with its LevelDB module, which does not load in
 * Jest's VM; both parsers get this stand-in, and equivalence needs only that they get the same one.
 */
const compare = (operator: string, x: Record<string, string>, y: Record<string, string>) => {
  const [a, b] = [Number(Object.values(x)[0]), Number(Object.values(y)[0])];
  return operator === 'GT' ? a > b : a < b;
};
const RESERVED = new Set(['STATUS', 'SIZE', 'NAME']);

/** One parse as dynalite's validateExpressions makes it: the result or the error, and what it left unused. */
const parseWith = (parser: PegParser, expression: string, names: Record<string, string>, values: Record<string, unknown>, isKeyCondition = false) => {
  const context = {
    attrNames: names,
    attrVals: values,
    unusedAttrNames: Object.fromEntries(Object.keys(names).map((key) => [key, true])),
    unusedAttrVals: Object.fromEntries(Object.keys(values).map((key) => [key, true])),
    isReserved: (name: string) => RESERVED.has(name.toUpperCase()),
    compare,
    ...(isKeyCondition && { isKeyCondition }),
  };
  try {
    return { result: parser.parse(expression, { context }), unusedNames: context.unusedAttrNames, unusedValues: context.unusedAttrVals };
  } catch (error) {
    return { error: `${(error as Error).name}: ${(error as Error).message}` };
  }
};

const N = (n: string) => ({ N: n });
const claimValues = { ':nowSeconds': N('1'), ':attempt': N('2'), ':now': N('3'), ':until': N('4'), ':new0': { S: 'pending' } };
const claimNames = { '#expiresAt': 'expiresAt', '#claimedAttempt': 'claimedAttempt', '#claimExpiresAt': 'claimExpiresAt', '#new0': 'status' };

interface ParseCase {
  readonly parser: Parser;
  readonly label: string;
  readonly expression: string;
  readonly names?: Record<string, string>;
  readonly values?: Record<string, unknown>;
  readonly isKeyCondition?: boolean;
}

const cases: ParseCase[] = [
  {
    parser: 'conditionParser',
    label: 'the claim condition, two levels of parentheses',
    expression:
      'attribute_not_exists(pk) OR (#expiresAt > :nowSeconds AND size(attempts) < :attempt AND ' +
      '(attribute_not_exists(#claimedAttempt) OR #claimedAttempt < :attempt OR #claimExpiresAt <= :now))',
    names: claimNames,
    values: claimValues,
  },
  {
    parser: 'conditionParser',
    label: 'a key condition',
    expression: 'pk = :pk AND begins_with(sk, :prefix)',
    values: { ':pk': { S: 'a' }, ':prefix': { S: 'b' } },
    isKeyCondition: true,
  },
  { parser: 'conditionParser', label: 'NOT, IN and BETWEEN', expression: 'NOT (a IN (:x, :y)) AND b BETWEEN :x AND :y', values: { ':x': N('1'), ':y': N('2') } },
  { parser: 'conditionParser', label: 'BETWEEN bounds in the wrong order (an error)', expression: 'b BETWEEN :y AND :x', values: { ':x': N('1'), ':y': N('2') } },
  { parser: 'conditionParser', label: 'redundant parentheses (an error)', expression: '((a = :x))', values: { ':x': N('1') } },
  { parser: 'conditionParser', label: 'an unknown function (an error)', expression: 'frobnicate(a)' },
  { parser: 'conditionParser', label: 'a reserved word (an error)', expression: 'status = :x', values: { ':x': N('1') } },
  { parser: 'conditionParser', label: 'an undefined value (an error)', expression: 'a = :missing' },
  { parser: 'conditionParser', label: 'a syntax error', expression: 'a = ' },
  { parser: 'conditionParser', label: 'a wrong operand type (an error)', expression: 'size(:x) > :y', values: { ':x': N('1'), ':y': N('2') } },
  {
    parser: 'updateParser',
    label: 'the claim update',
    expression: 'SET #claimedAttempt = :attempt, #claimExpiresAt = :until, #new0 = if_not_exists(#new0, :new0)',
    names: claimNames,
    values: claimValues,
  },
  {
    parser: 'updateParser',
    label: 'an attempt record',
    expression: 'SET #status = :status, attempts = list_append(if_not_exists(attempts, :none), :attempt) REMOVE nextAttemptAt',
    names: { '#status': 'status' },
    values: { ':status': { S: 'succeeded' }, ':none': { L: [] }, ':attempt': { L: [] } },
  },
  { parser: 'updateParser', label: 'ADD and DELETE', expression: 'ADD counter :one DELETE tags :tag', values: { ':one': N('1'), ':tag': { SS: ['x'] } } },
  { parser: 'updateParser', label: 'overlapping paths (an error)', expression: 'SET a = :x, a.b = :x', values: { ':x': N('1') } },
  { parser: 'updateParser', label: 'a clause given twice (an error)', expression: 'SET a = :x SET b = :x', values: { ':x': N('1') } },
  { parser: 'projectionParser', label: 'a projection', expression: 'a, b.c, #n[1]', names: { '#n': 'n' } },
  { parser: 'projectionParser', label: 'a projection with overlapping paths (an error)', expression: 'a, a.b' },
];

const parseCase = ({ parser, expression, names = {}, values = {}, isKeyCondition = false }: ParseCase, cache: boolean) =>
  parseWith(load(parser, cache), expression, names, values, isKeyCondition);

describe("dynalite's memoized expression parsers", () => {
  it.each(PARSERS)('%s is installed as the postinstall script leaves it', (parser) => {
    expect(installedParserState(parser)).toBe(MEMOIZED_PARSERS.includes(parser) ? 'memoized' : 'shipped');
  });

  it.each(cases)('$parser: $label parses exactly as with the parser dynalite ships', (example) => {
    expect(parseCase(example, true)).toEqual(parseCase(example, false));
  });

  it('the cases cover both outcomes, so an equality of two failures proves nothing alone', () => {
    // A semantic error comes back as the parse's result, a message; a syntax error is thrown.
    const outcomes = cases.map((example) => {
      const parsed = parseCase(example, true);
      return 'error' in parsed || typeof parsed.result === 'string' ? 'error' : 'parsed';
    });

    expect(outcomes.filter((outcome) => outcome === 'parsed').length).toBeGreaterThanOrEqual(6);
    expect(outcomes.filter((outcome) => outcome === 'error').length).toBeGreaterThanOrEqual(6);
  });
});
