// Policy queries: keywords with AND, OR, NOT, parentheses and "quoted phrases", matched as whole words,
// case-insensitively. Adjacent terms mean AND; a trailing * matches a word's start. Operators are
// upper case (a lower-case "or" is a word). Parsed once by recursive descent into a tree.
//
//   query   := or
//   or      := and ( "OR" and )*
//   and     := unary ( ["AND"] unary )*
//   unary   := ("NOT" | "-") unary | primary
//   primary := "(" or ")" | PHRASE | WORD
import { words, type TextIndex } from './text-index.js';

export type QueryNode =
  | { kind: 'term'; text: string; words: string[]; prefix: boolean }
  | { kind: 'not'; child: QueryNode }
  | { kind: 'and' | 'or'; children: QueryNode[] };

export class QuerySyntaxError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(`${message} at character ${position + 1}`);
    this.name = 'QuerySyntaxError';
  }
}

type Token =
  | { kind: '(' | ')' | 'AND' | 'OR' | 'NOT' | 'end'; at: number }
  | { kind: 'term'; at: number; text: string; quoted: boolean };

const MAX_DEPTH = 32;
const MAX_TERMS = 200;

function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < query.length) {
    const c = query[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')') {
      tokens.push({ kind: c, at: i++ });
    } else if (c === '-' && i + 1 < query.length && !/\s/.test(query[i + 1]!)) {
      tokens.push({ kind: 'NOT', at: i++ });
    } else if (c === '"') {
      const end = query.indexOf('"', i + 1);
      if (end < 0) throw new QuerySyntaxError('unclosed quote', i);
      tokens.push({ kind: 'term', at: i, text: query.slice(i + 1, end), quoted: true });
      i = end + 1;
    } else {
      const start = i;
      while (i < query.length && !/[\s()"]/.test(query[i]!)) i++;
      const text = query.slice(start, i);
      if (text === 'AND' || text === 'OR' || text === 'NOT') tokens.push({ kind: text, at: start });
      else tokens.push({ kind: 'term', at: start, text, quoted: false });
    }
  }
  tokens.push({ kind: 'end', at: query.length });
  return tokens;
}

/** Parses a query; throws QuerySyntaxError naming the problem and where it is. */
export function parseQuery(query: string): QueryNode {
  const tokens = tokenize(query);
  let pos = 0;
  let terms = 0;
  const peek = (): Token => tokens[pos]!;
  const startsUnary = (t: Token) => t.kind === 'term' || t.kind === '(' || t.kind === 'NOT';

  const parseOr = (depth: number): QueryNode => {
    if (depth > MAX_DEPTH) throw new QuerySyntaxError('too deeply nested', peek().at);
    const children = [parseAnd(depth)];
    while (peek().kind === 'OR') {
      pos++;
      children.push(parseAnd(depth));
    }
    return children.length === 1 ? children[0]! : { kind: 'or', children };
  };
  const parseAnd = (depth: number): QueryNode => {
    const children = [parseUnary(depth)];
    for (;;) {
      if (peek().kind === 'AND') pos++;
      else if (!startsUnary(peek())) break;
      children.push(parseUnary(depth));
    }
    return children.length === 1 ? children[0]! : { kind: 'and', children };
  };
  const parseUnary = (depth: number): QueryNode => {
    if (peek().kind === 'NOT') {
      pos++;
      return { kind: 'not', child: parseUnary(depth + 1) };
    }
    return parsePrimary(depth);
  };
  const parsePrimary = (depth: number): QueryNode => {
    const t = peek();
    if (t.kind === '(') {
      pos++;
      const inner = parseOr(depth + 1);
      if (peek().kind !== ')') throw new QuerySyntaxError('missing )', peek().at);
      pos++;
      return inner;
    }
    if (t.kind === 'term') {
      pos++;
      if (++terms > MAX_TERMS) throw new QuerySyntaxError(`more than ${MAX_TERMS} terms`, t.at);
      const prefix = !t.quoted && t.text.length > 1 && t.text.endsWith('*');
      const termWords = words(prefix ? t.text.slice(0, -1) : t.text);
      if (termWords.length === 0) throw new QuerySyntaxError(`"${t.text}" has no letters or digits`, t.at);
      return { kind: 'term', text: t.text, words: termWords, prefix };
    }
    if (t.kind === 'end') throw new QuerySyntaxError('query ends where a term was expected', t.at);
    throw new QuerySyntaxError(`unexpected ${t.kind}`, t.at);
  };

  const root = parseOr(0);
  if (peek().kind !== 'end') throw new QuerySyntaxError(`unexpected ${peek().kind}`, peek().at);
  if (!hasPositiveTerm(root, false)) throw new QuerySyntaxError('the query only excludes; add a term to look for', 0);
  return root;
}

function hasPositiveTerm(node: QueryNode, negated: boolean): boolean {
  if (node.kind === 'term') return !negated;
  if (node.kind === 'not') return hasPositiveTerm(node.child, !negated);
  return node.children.some((c) => hasPositiveTerm(c, negated));
}

/** A parsed query, ready to test posts. */
export class Query {
  readonly #root: QueryNode;
  readonly #positiveTerms: Array<Extract<QueryNode, { kind: 'term' }>> = [];

  constructor(readonly source: string) {
    this.#root = parseQuery(source);
    const collect = (node: QueryNode, negated: boolean): void => {
      if (node.kind === 'term') {
        if (!negated) this.#positiveTerms.push(node);
      } else if (node.kind === 'not') collect(node.child, !negated);
      else node.children.forEach((c) => collect(c, negated));
    };
    collect(this.#root, false);
  }

  matches(text: TextIndex): boolean {
    return evaluate(this.#root, text);
  }

  /** The query's wanted terms found in the text (for the agent to see why the post came). */
  matchedTerms(text: TextIndex): string[] {
    const found = this.#positiveTerms.filter((t) => text.hasPhrase(t.words, t.prefix)).map((t) => t.text);
    return [...new Set(found)];
  }
}

function evaluate(node: QueryNode, text: TextIndex): boolean {
  switch (node.kind) {
    case 'term':
      return text.hasPhrase(node.words, node.prefix);
    case 'not':
      return !evaluate(node.child, text);
    case 'and':
      return node.children.every((c) => evaluate(c, text));
    case 'or':
      return node.children.some((c) => evaluate(c, text));
  }
}
