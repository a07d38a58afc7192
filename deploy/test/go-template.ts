import { stringify } from 'yaml';

/**
 * A renderer for the part of Go's text/template (with Helm's functions) that the chart in deploy/helm uses,
 * so its templates can be rendered and checked where `helm` cannot be installed (neither npm nor Debian
 * bookworm carries it). It fails loudly on anything outside that part rather than render it wrongly:
 * actions `{{ }}` with `{{-`/`-}}` trimming and comments; `if`/`else`/`end`, `range` over a list (dot is the
 * element) or a map (`$k, $v :=`, keys sorted as Go sorts them), `define` and `include`; fields of `.`, `$`
 * and variables; string, number and boolean literals; pipelines; and the functions listed in FUNCTIONS.
 */

type Value = unknown;
type Arg =
  | { kind: 'field'; base: string; path: string[] }
  | { kind: 'literal'; value: Value }
  | { kind: 'call'; name: string }
  | { kind: 'group'; pipeline: Pipeline };
type Command = Arg[];
type Pipeline = Command[];
type Node =
  | { kind: 'text'; text: string }
  | { kind: 'output'; pipeline: Pipeline }
  | { kind: 'if'; condition: Pipeline; then: Node[]; otherwise: Node[] }
  | { kind: 'range'; key?: string; value?: string; pipeline: Pipeline; body: Node[] };

interface Scope {
  dot: Value;
  root: Value;
  vars: Map<string, Value>;
}

export class TemplateError extends Error {}

function empty(v: Value): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v as object).length === 0;
  return false;
}

function indent(n: number, s: string): string {
  const pad = ' '.repeat(n);
  return s
    .split('\n')
    .map((line) => pad + line)
    .join('\n');
}

const FUNCTIONS: Record<string, (this: Renderer, ...args: Value[]) => Value> = {
  quote: (v) => JSON.stringify(v === undefined || v === null ? '' : String(v)),
  default: (fallback, v) => (empty(v) ? fallback : v),
  required(message, v) {
    if (empty(v)) throw new TemplateError(String(message));
    return v;
  },
  toYaml: (v) => (v === undefined || v === null ? '' : stringify(v).replace(/\n$/, '')),
  indent: (n, s) => indent(Number(n), String(s)),
  nindent: (n, s) => `\n${indent(Number(n), String(s))}`,
  not: (v) => empty(v),
  and: (...vs) => vs.every((v) => !empty(v)),
  or: (...vs) => vs.some((v) => !empty(v)),
  eq: (a, b) => a === b,
  include(name, data) {
    return this.renderDefined(String(name), data);
  },
};

const TOKEN = /\s*("(?:[^"\\]|\\.)*"|\(|\)|\||:=|,|[^\s()|,]+)/y;

function tokenize(source: string): string[] {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  let m: RegExpExecArray | null;
  while (TOKEN.lastIndex < source.length && (m = TOKEN.exec(source)) !== null) tokens.push(m[1]);
  if (source.slice(TOKEN.lastIndex).trim() !== '') throw new TemplateError(`cannot read action: ${source}`);
  return tokens;
}

function parseArg(token: string, rest: string[]): Arg {
  if (token === '(') {
    const inner: string[] = [];
    let depth = 1;
    while (rest.length > 0) {
      const t = rest.shift() as string;
      if (t === '(') depth++;
      if (t === ')' && --depth === 0) return { kind: 'group', pipeline: parsePipeline(inner) };
      inner.push(t);
    }
    throw new TemplateError('unclosed (');
  }
  if (token.startsWith('"')) return { kind: 'literal', value: JSON.parse(token) };
  if (/^-?\d+(\.\d+)?$/.test(token)) return { kind: 'literal', value: Number(token) };
  if (token === 'true' || token === 'false') return { kind: 'literal', value: token === 'true' };
  if (token === '.') return { kind: 'field', base: '.', path: [] };
  if (token.startsWith('.')) return { kind: 'field', base: '.', path: token.slice(1).split('.') };
  if (token.startsWith('$')) {
    const [base, ...path] = token.split('.');
    return { kind: 'field', base, path };
  }
  if (!(token in FUNCTIONS)) throw new TemplateError(`unsupported function ${token}`);
  return { kind: 'call', name: token };
}

function parsePipeline(tokens: string[]): Pipeline {
  const pipeline: Pipeline = [[]];
  const rest = [...tokens];
  while (rest.length > 0) {
    const token = rest.shift() as string;
    if (token === '|') pipeline.push([]);
    else pipeline[pipeline.length - 1].push(parseArg(token, rest));
  }
  if (pipeline.some((c) => c.length === 0)) throw new TemplateError(`empty command in ${tokens.join(' ')}`);
  return pipeline;
}

interface Action {
  words: string[];
}

/** Splits the source into text and actions, applying the trim markers and dropping comments. */
function lex(source: string): (string | Action)[] {
  const out: (string | Action)[] = [];
  let at = 0;
  let trimNext = false;
  while (at < source.length) {
    const open = source.indexOf('{{', at);
    let text = source.slice(at, open === -1 ? source.length : open);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (open === -1) {
      out.push(text);
      break;
    }
    const close = source.indexOf('}}', open);
    if (close === -1) throw new TemplateError('unclosed {{');
    let inner = source.slice(open + 2, close);
    if (inner.startsWith('-') && /^-\s/.test(inner)) {
      text = text.replace(/\s+$/, '');
      inner = inner.slice(1);
    }
    trimNext = /\s-$/.test(inner);
    if (trimNext) inner = inner.slice(0, -1);
    out.push(text);
    inner = inner.trim();
    if (!(inner.startsWith('/*') && inner.endsWith('*/'))) out.push({ words: tokenize(inner) });
    at = close + 2;
  }
  return out;
}

export class Renderer {
  private readonly defined = new Map<string, Node[]>();
  private readonly files: Map<string, Node[]>;

  /** `files`: every template of the chart (name → source); `define`d templates become includable. */
  constructor(files: Record<string, string>) {
    this.files = new Map(Object.entries(files).map(([name, source]) => [name, this.parse(lex(source))]));
  }

  render(file: string, context: Value): string {
    const nodes = this.files.get(file);
    if (!nodes) throw new TemplateError(`no template file ${file}`);
    return this.run(nodes, { dot: context, root: context, vars: new Map() });
  }

  renderDefined(name: string, data: Value): string {
    const nodes = this.defined.get(name);
    if (!nodes) throw new TemplateError(`no template named ${name}`);
    return this.run(nodes, { dot: data, root: data, vars: new Map() });
  }

  private parse(items: (string | Action)[]): Node[] {
    const [nodes, stop] = this.parseUntil(items, []);
    if (stop !== undefined) throw new TemplateError(`unexpected {{ ${stop} }}`);
    return nodes;
  }

  /** Parses nodes up to one of `stops` (`end`, `else`), which it consumes and returns. */
  private parseUntil(items: (string | Action)[], stops: string[]): [Node[], string | undefined] {
    const nodes: Node[] = [];
    while (items.length > 0) {
      const item = items.shift() as string | Action;
      if (typeof item === 'string') {
        if (item !== '') nodes.push({ kind: 'text', text: item });
        continue;
      }
      const [keyword, ...rest] = item.words;
      if (stops.includes(keyword)) return [nodes, keyword];
      if (keyword === 'end' || keyword === 'else') throw new TemplateError(`unexpected {{ ${keyword} }}`);
      if (keyword === 'if') {
        const [then, stop] = this.parseUntil(items, ['end', 'else']);
        let otherwise: Node[] = [];
        if (stop === 'else') [otherwise] = this.parseUntil(items, ['end']);
        else if (stop === undefined) throw new TemplateError('if without end');
        nodes.push({ kind: 'if', condition: parsePipeline(rest), then, otherwise });
      } else if (keyword === 'range') {
        let key: string | undefined;
        let value: string | undefined;
        let words = rest;
        const assign = rest.indexOf(':=');
        if (assign !== -1) {
          const names = rest.slice(0, assign).filter((w) => w !== ',');
          [key, value] = names.length === 2 ? names : [undefined, names[0]];
          words = rest.slice(assign + 1);
        }
        const [body, stop] = this.parseUntil(items, ['end']);
        if (stop === undefined) throw new TemplateError('range without end');
        nodes.push({ kind: 'range', key, value, pipeline: parsePipeline(words), body });
      } else if (keyword === 'define') {
        const [body, stop] = this.parseUntil(items, ['end']);
        if (stop === undefined) throw new TemplateError('define without end');
        this.defined.set(JSON.parse(rest[0]) as string, body);
      } else {
        nodes.push({ kind: 'output', pipeline: parsePipeline(item.words) });
      }
    }
    return [nodes, undefined];
  }

  private run(nodes: Node[], scope: Scope): string {
    let out = '';
    for (const node of nodes) {
      if (node.kind === 'text') out += node.text;
      else if (node.kind === 'output') out += this.print(this.evaluate(node.pipeline, scope));
      else if (node.kind === 'if') {
        out += this.run(empty(this.evaluate(node.condition, scope)) ? node.otherwise : node.then, scope);
      } else {
        const over = this.evaluate(node.pipeline, scope);
        if (empty(over)) continue;
        const entries: [Value, Value][] = Array.isArray(over)
          ? over.map((v, i) => [i, v])
          : Object.keys(over as object)
              .sort()
              .map((k) => [k, (over as Record<string, Value>)[k]]);
        for (const [k, v] of entries) {
          const vars = new Map(scope.vars);
          if (node.key) vars.set(node.key, k);
          if (node.value) vars.set(node.value, v);
          out += this.run(node.body, { dot: v, root: scope.root, vars });
        }
      }
    }
    return out;
  }

  private print(v: Value): string {
    if (v === undefined || v === null) return '';
    if (typeof v === 'object') throw new TemplateError('cannot print a map or list: use toYaml');
    return String(v);
  }

  private evaluate(pipeline: Pipeline, scope: Scope): Value {
    let carried: { value: Value } | undefined;
    for (const command of pipeline) {
      const [head, ...args] = command;
      const values = args.map((a) => this.argument(a, scope));
      if (carried) values.push(carried.value);
      if (head.kind === 'call') carried = { value: FUNCTIONS[head.name].apply(this, values) };
      else if (values.length > 0) throw new TemplateError('arguments given to a value, not a function');
      else carried = { value: this.argument(head, scope) };
    }
    return carried?.value;
  }

  private argument(arg: Arg, scope: Scope): Value {
    if (arg.kind === 'literal') return arg.value;
    if (arg.kind === 'group') return this.evaluate(arg.pipeline, scope);
    if (arg.kind === 'call') return FUNCTIONS[arg.name].apply(this, []);
    let v: Value;
    if (arg.base === '.') v = scope.dot;
    else if (arg.base === '$') v = scope.root;
    else if (scope.vars.has(arg.base)) v = scope.vars.get(arg.base);
    else throw new TemplateError(`undefined variable ${arg.base}`);
    for (const key of arg.path) {
      v = v !== null && typeof v === 'object' ? (v as Record<string, Value>)[key] : undefined;
    }
    return v;
  }
}
