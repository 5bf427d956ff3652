import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';

import {
  isArrayBindingPattern,
  isArrayLiteralExpression,
  isArrowFunction,
  isAsExpression,
  isBinaryExpression,
  isBlock,
  isCallExpression,
  isCaseClause,
  isConditionalExpression,
  isDefaultClause,
  isExportDeclaration,
  isForInStatement,
  isForOfStatement,
  isForStatement,
  isFunctionDeclaration,
  isFunctionExpression,
  isIdentifier,
  isImportDeclaration,
  isMethodDeclaration,
  isModuleBlock,
  isNewExpression,
  isNonNullExpression,
  isNoSubstitutionTemplateLiteral,
  isNumericLiteral,
  isObjectLiteralExpression,
  isParenthesizedExpression,
  isParameterDeclaration,
  isPropertyAccessExpression,
  isPropertyAssignment,
  isReturnStatement,
  isSatisfiesExpression,
  isShorthandPropertyAssignment,
  isSourceFile,
  isStringLiteral,
  isTemplateExpression,
  isVariableDeclaration,
  isVariableDeclarationList,
  isVariableStatement,
  ModifierFlags,
  NodeFlags,
  SyntaxKind,
  type Expression,
  type Node,
  type SourceFile,
} from 'typescript/unstable/ast';
import { API } from 'typescript/unstable/sync';

/**
 * A static check that no SQL in src/ is built by pasting values into its text.
 *
 * Sinks: every call `x.query(sql, ...)` (pg Client, Pool, PoolClient and the
 * DAL's Executor), `pgm.sql(sql)` (node-pg-migrate), `new QueryStream(sql)`,
 * `new Cursor(sql)` and `new pg.Query({ text })`; for `x.query({ text })` and
 * `new pg.Query({ text })` the text property. The SQL
 * argument is proven safe when it is built only of
 *  - string literals and numeric literals;
 *  - identifiers through the quoting helpers (QUOTING_HELPERS below), also as
 *    `names.map(quoteIdent).join(', ')`;
 *  - `const`s (in scope, or imported from another file of the program) whose
 *    initialiser is itself proven safe, and calls of functions of the program
 *    whose every `return` is proven safe, followed to any depth;
 *  - template literals, `+`, `cond ? a : b`, `xs.map((x) => <safe>).join(sep)`
 *    and `CONST_ARRAY.join(sep)` made of the above.
 * Anything else (a parameter, a `let`, a property of an object, a call of an
 * unknown function, a loop variable) could carry a value: it is a finding
 * unless an Allowance names it (file + the exact source text of the
 * expression) with a reason. An allowance that matches nothing is reported
 * too, so the list cannot go stale.
 */

/** The identifier-quoting helpers of src/db/identifiers.ts: the only way a name enters SQL text. */
export const QUOTING_HELPERS = new Set(['quoteIdent', 'quoteQualified']);

export interface Allowance {
  /** Path relative to the scanned root, e.g. src/dal/client.ts. */
  file: string;
  /** Exact source text of the expression that cannot be proven (whitespace collapsed), or a pattern over it. */
  expression: string | RegExp;
  reason: string;
}

export interface Finding {
  file: string;
  line: number;
  /** Source text of the offending expression. */
  expression: string;
  /** Source text of the sink call it reaches. */
  sink: string;
  why: string;
}

export interface SinkSite {
  file: string;
  line: number;
  sink: string;
  /** constant: literals and constants only; quoted: identifiers through the helpers too; allowed: needed an allowance; unsafe: a finding. */
  verdict: 'constant' | 'quoted' | 'allowed' | 'unsafe';
}

export interface CheckResult {
  files: number;
  sites: SinkSite[];
  findings: Finding[];
  /** Allowances that matched no expression. */
  unused: Allowance[];
  /** Allowances used, with the number of expressions each covered. */
  used: Map<Allowance, number>;
}

type ProgramFiles = Map<string, SourceFile>;

const collapse = (text: string) => text.replace(/\s+/g, ' ').trim();
const SINK_METHODS = new Set(['query', 'sql']);
const SINK_CLASSES = new Set(['QueryStream', 'Cursor', 'Query']);

/** `new Query(...)`, `new pg.Query(...)`: a class whose instances carry SQL text. */
function isSinkClass(callee: Node): boolean {
  if (isIdentifier(callee)) return SINK_CLASSES.has(callee.text);
  return isPropertyAccessExpression(callee) && isIdentifier(callee.name) && SINK_CLASSES.has(callee.name.text);
}

/** The SQL of a sink's first argument: the argument itself, or the `text` property of a config object. */
function sqlOfArgument(first: Node | undefined): Node | undefined {
  if (!first) return undefined;
  const arg = unwrap(first);
  if (!isObjectLiteralExpression(arg)) return first;
  for (const p of arg.properties) {
    if (isPropertyAssignment(p) && isIdentifier(p.name) && p.name.text === 'text') return p.initializer;
    if (isShorthandPropertyAssignment(p) && isIdentifier(p.name) && p.name.text === 'text') return p.name;
  }
  return undefined;
}

function unwrap(e: Node): Node {
  let node = e;
  while (isParenthesizedExpression(node) || isAsExpression(node) || isNonNullExpression(node) || isSatisfiesExpression(node)) {
    node = node.expression;
  }
  return node;
}

function isFunctionLike(node: Node): boolean {
  return isFunctionDeclaration(node) || isFunctionExpression(node) || isArrowFunction(node) || isMethodDeclaration(node);
}

type Resolution =
  | { kind: 'const'; initializer: Expression; file: SourceFile }
  | { kind: 'function'; node: Node; file: SourceFile }
  | { kind: 'param'; fn: Node; index: number; rest: boolean; initializer: Expression | undefined; file: SourceFile; what: string }
  | { kind: 'unknown'; what: string };

const keyOf = (file: SourceFile, node: Node) => `${file.fileName}:${node.pos}`;
/** Nodes are views over the parser's buffer: the same node may come back as another object. */
const same = (a: Node | undefined, b: Node) => a !== undefined && a.kind === b.kind && a.pos === b.pos && a.end === b.end;

class Checker {
  readonly sites: SinkSite[] = [];
  readonly findings: Finding[] = [];
  readonly used = new Map<Allowance, number>();

  constructor(
    private readonly root: string,
    private readonly files: ProgramFiles,
    private readonly allowances: readonly Allowance[],
  ) {}

  private rel(sf: SourceFile): string {
    return relative(this.root, sf.fileName);
  }

  private line(sf: SourceFile, node: Node): number {
    return sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
  }

  run(sf: SourceFile): void {
    const visit = (node: Node): void => {
      const sql = this.sinkArgument(node);
      if (sql) this.checkSite(sf, node, sql);
      node.forEachChild(visit);
    };
    visit(sf);
  }

  /** The SQL argument when `node` is a sink call. */
  private sinkArgument(node: Node): Node | undefined {
    if (isCallExpression(node)) {
      const callee = unwrap(node.expression);
      if (!isPropertyAccessExpression(callee) || !isIdentifier(callee.name) || !SINK_METHODS.has(callee.name.text)) return undefined;
      return sqlOfArgument(node.arguments[0]);
    }
    if (isNewExpression(node)) {
      if (!isSinkClass(unwrap(node.expression))) return undefined;
      return sqlOfArgument(node.arguments?.[0]);
    }
    return undefined;
  }

  private checkSite(sf: SourceFile, call: Node, sql: Node): void {
    const state = { quoted: false, allowed: false, unsafe: false };
    const sink = collapse(call.getText(sf)).slice(0, 160);
    this.sql(sf, sql, { sink, state, depth: 0, seen: new Set() });
    this.sites.push({
      file: this.rel(sf),
      line: this.line(sf, call),
      sink,
      verdict: state.unsafe ? 'unsafe' : state.allowed ? 'allowed' : state.quoted ? 'quoted' : 'constant',
    });
  }

  /** An expression whose value is SQL text (or a piece of it). */
  private sql(sf: SourceFile, node: Node, ctx: Ctx): void {
    const e = unwrap(node);
    if (ctx.depth > 25) return this.unproven(sf, e, ctx, 'too deep to follow');
    const deeper = { ...ctx, depth: ctx.depth + 1 };
    if (isStringLiteral(e) || isNoSubstitutionTemplateLiteral(e) || isNumericLiteral(e)) return;
    if (isTemplateExpression(e)) {
      for (const span of e.templateSpans) this.sql(sf, span.expression, deeper);
      return;
    }
    if (isBinaryExpression(e)) {
      if (e.operatorToken.kind !== SyntaxKind.PlusToken) return this.unproven(sf, e, ctx, 'not a concatenation of SQL pieces');
      this.sql(sf, e.left, deeper);
      this.sql(sf, e.right, deeper);
      return;
    }
    if (isConditionalExpression(e)) {
      // The condition only picks between pieces; it does not enter the text.
      this.sql(sf, e.whenTrue, deeper);
      this.sql(sf, e.whenFalse, deeper);
      return;
    }
    if (isArrayLiteralExpression(e)) {
      // An array of SQL pieces (a destructured `const [lo, hi] = f()` follows f's returned array): each must be safe.
      for (const element of e.elements) this.sql(sf, element, deeper);
      return;
    }
    if (isIdentifier(e)) {
      const resolved = this.resolve(sf, e, e.text);
      if (resolved.kind === 'const') {
        const key = keyOf(resolved.file, resolved.initializer);
        if (ctx.seen.has(key)) return;
        return this.sql(resolved.file, resolved.initializer, { ...deeper, seen: new Set([...ctx.seen, key]) });
      }
      if (resolved.kind === 'param') return this.parameter(sf, e, resolved, ctx);
      return this.unproven(sf, e, ctx, resolved.kind === 'unknown' ? resolved.what : 'a function, not SQL text');
    }
    const constructed = isNewExpression(e) ? unwrap(e.expression) : undefined;
    if (constructed && isSinkClass(constructed)) {
      // client.query(new QueryStream(sql)): the stream's SQL is a sink of its own, checked there.
      return;
    }
    if (isCallExpression(e)) {
      const callee = unwrap(e.expression);
      if (isIdentifier(callee) && QUOTING_HELPERS.has(callee.text)) {
        ctx.state.quoted = true;
        return;
      }
      if (isPropertyAccessExpression(callee) && isIdentifier(callee.name) && callee.name.text === 'join') {
        if (e.arguments.length > 0) this.sql(sf, e.arguments[0]!, deeper);
        return this.joined(sf, unwrap(callee.expression), e, ctx);
      }
      if (isIdentifier(callee)) {
        const resolved = this.resolve(sf, callee, callee.text);
        if (resolved.kind === 'function') {
          const key = `${resolved.file.fileName}:${resolved.node.pos}`;
          if (ctx.seen.has(key)) return;
          const returns = this.returns(resolved.node);
          if (returns.length === 0) return this.unproven(sf, e, ctx, 'a function without a return value');
          for (const r of returns) this.sql(resolved.file, r, { ...deeper, seen: new Set([...ctx.seen, key]) });
          return;
        }
      }
      return this.unproven(sf, e, ctx, 'the result of a call that is not a quoting helper nor a function of the program');
    }
    return this.unproven(sf, e, ctx, kindName(e));
  }

  /** `xs.join(sep)`: safe when every element is. */
  private joined(sf: SourceFile, list: Node, join: Node, ctx: Ctx): void {
    const deeper = { ...ctx, depth: ctx.depth + 1 };
    if (isCallExpression(list)) {
      const callee = unwrap(list.expression);
      if (isPropertyAccessExpression(callee) && isIdentifier(callee.name) && callee.name.text === 'map' && list.arguments.length === 1) {
        const mapper = unwrap(list.arguments[0]!);
        if (isIdentifier(mapper) && QUOTING_HELPERS.has(mapper.text)) {
          ctx.state.quoted = true;
          return;
        }
        if (isArrowFunction(mapper) || isFunctionExpression(mapper)) {
          for (const r of this.returns(mapper)) this.sql(sf, r, deeper);
          return;
        }
      }
    }
    if (isArrayLiteralExpression(list)) {
      for (const element of list.elements) this.sql(sf, element, deeper);
      return;
    }
    if (isIdentifier(list)) {
      const resolved = this.resolve(sf, list, list.text);
      if (resolved.kind === 'const' && isArrayLiteralExpression(unwrap(resolved.initializer))) {
        return this.joined(resolved.file, unwrap(resolved.initializer), join, deeper);
      }
    }
    return this.unproven(sf, join, ctx, 'a join of elements that cannot be proven safe');
  }

  /** The returned expressions of a function (its body, for an arrow with an expression body). */
  private returns(fn: Node): Node[] {
    const body = (fn as unknown as { body?: Node }).body;
    if (!body) return [];
    if (!isBlock(body)) return [body];
    const found: Node[] = [];
    const visit = (node: Node): void => {
      if (isReturnStatement(node)) {
        if (node.expression) found.push(node.expression);
        return;
      }
      if (isFunctionLike(node)) return; // a nested function's returns are its own
      node.forEachChild(visit);
    };
    body.forEachChild(visit);
    return found;
  }

  /** Lexical lookup of a name from `from` outwards, then through the file's imports. */
  private resolve(sf: SourceFile, from: Node, name: string): Resolution {
    for (let scope: Node | undefined = from.parent; scope; scope = scope.parent) {
      if (isFunctionLike(scope)) {
        const params = (scope as unknown as { parameters: readonly Node[] }).parameters;
        for (const [index, p] of params.entries()) {
          if (!isParameterDeclaration(p) || !bindsName(p.name, name)) continue;
          const what = `the parameter ${name}: a value from the caller`;
          if (!isIdentifier(p.name)) return { kind: 'unknown', what: `${name}, destructured from a parameter` };
          return { kind: 'param', fn: scope, index, rest: p.dotDotDotToken !== undefined, initializer: p.initializer, file: sf, what };
        }
      }
      if (isForOfStatement(scope) || isForInStatement(scope) || isForStatement(scope)) {
        const init = scope.initializer;
        if (init && isVariableDeclarationList(init) && init.declarations.some((d) => bindsName(d.name, name))) {
          return { kind: 'unknown', what: `the loop variable ${name}` };
        }
      }
      if (isBlock(scope) || isSourceFile(scope) || isModuleBlock(scope) || isCaseClause(scope) || isDefaultClause(scope)) {
        for (const statement of scope.statements) {
          const found = this.declared(sf, statement, name);
          if (found) return found;
        }
      }
    }
    return this.imported(sf, name);
  }

  private declared(sf: SourceFile, statement: Node, name: string): Resolution | undefined {
    if (isVariableStatement(statement)) {
      const list = statement.declarationList;
      for (const d of list.declarations) {
        if (!bindsName(d.name, name)) continue;
        if ((list.flags & NodeFlags.Const) === 0) return { kind: 'unknown', what: `${name}, a variable that can be reassigned` };
        if (!d.initializer) return { kind: 'unknown', what: `${name}, declared without a value` };
        // const [lo, hi] = f(): every element of what f returns must be safe (checked as an array of pieces).
        if (isArrayBindingPattern(d.name)) return { kind: 'const', initializer: d.initializer, file: sf };
        if (!isIdentifier(d.name)) return { kind: 'unknown', what: `${name}, destructured from a value` };
        const init = unwrap(d.initializer);
        if (isArrowFunction(init) || isFunctionExpression(init)) return { kind: 'function', node: init, file: sf };
        return { kind: 'const', initializer: d.initializer, file: sf };
      }
    }
    if (isFunctionDeclaration(statement) && statement.name?.text === name) return { kind: 'function', node: statement, file: sf };
    return undefined;
  }

  private imported(sf: SourceFile, name: string): Resolution {
    for (const statement of sf.statements) {
      if (!isImportDeclaration(statement) && !isExportDeclaration(statement)) continue;
      const specifier = statement.moduleSpecifier;
      if (!specifier || !isStringLiteral(specifier) || !specifier.text.startsWith('.')) continue;
      const clause = isImportDeclaration(statement) ? statement.importClause : undefined;
      const bindings = clause?.namedBindings;
      if (!bindings || !('elements' in bindings)) continue;
      for (const element of bindings.elements) {
        if (element.name.text !== name) continue;
        const exported = element.propertyName && isIdentifier(element.propertyName) ? element.propertyName.text : name;
        const target = this.files.get(resolve(dirname(sf.fileName), specifier.text.replace(/\.js$/, '.ts')));
        if (!target) return { kind: 'unknown', what: `${name}, imported from outside the scanned files` };
        for (const s of target.statements) {
          const found = this.declared(target, s, exported);
          if (found) return found;
        }
        return { kind: 'unknown', what: `${name}, not a top-level const or function of ${relative(this.root, target.fileName)}` };
      }
    }
    return { kind: 'unknown', what: `${name}, not declared in the scanned files` };
  }

  private allowance(file: string, expression: string): Allowance | undefined {
    return this.allowances.find(
      (a) => a.file === file && (typeof a.expression === 'string' ? collapse(a.expression) === expression : a.expression.test(expression)),
    );
  }

  /**
   * A parameter used as SQL: allowed by name, or followed to every call of
   * its function in the program (each argument in its place must be safe).
   * A function that is also used as a value (passed, stored, a method) cannot
   * be followed: its parameter is then unproven.
   */
  private parameter(sf: SourceFile, e: Node, param: Extract<Resolution, { kind: 'param' }>, ctx: Ctx): void {
    const file = this.rel(sf);
    const expression = collapse(e.getText(sf));
    const allowance = this.allowance(file, expression);
    if (allowance) {
      ctx.state.allowed = true;
      this.used.set(allowance, (this.used.get(allowance) ?? 0) + 1);
      return;
    }
    const key = keyOf(param.file, param.fn) + `#${param.index}`;
    if (ctx.seen.has(key)) return;
    const calls = this.callers(param.file, param.fn);
    if (typeof calls === 'string') return this.unproven(sf, e, ctx, `${param.what} (${calls})`);
    const deeper = { ...ctx, depth: ctx.depth + 1, seen: new Set([...ctx.seen, key]) };
    if (param.initializer) this.sql(param.file, param.initializer, deeper);
    for (const { file: callFile, call } of calls) {
      const args = call.arguments.slice(param.index, param.rest ? undefined : param.index + 1);
      for (const arg of args) this.sql(callFile, arg, deeper);
    }
  }

  /** Every call of a named function of the program, or why they cannot all be known. */
  private callers(file: SourceFile, fn: Node): { file: SourceFile; call: Node & { arguments: readonly Node[] } }[] | string {
    let name: string | undefined;
    if (isFunctionDeclaration(fn)) name = fn.name?.text;
    else if ((isArrowFunction(fn) || isFunctionExpression(fn)) && fn.parent && isVariableDeclaration(fn.parent) && isIdentifier(fn.parent.name)) {
      name = fn.parent.name.text;
    }
    if (!name) return 'its function has no name to follow: a callback or a method';
    if (this.exported(file, fn, name)) return `${name} is exported: its callers are not all in the scanned files`;
    const fnKey = keyOf(file, fn);
    const found: { file: SourceFile; call: Node & { arguments: readonly Node[] } }[] = [];
    for (const other of this.files.values()) {
      for (const id of this.identifiers(other).get(name) ?? []) {
        const parent = id.parent;
        if (!parent) continue;
        // The declaration itself, and the names in import/export lists, are not uses.
        if ('name' in parent && same((parent as { name: Node }).name, id) && !isCallExpression(parent)) continue;
        if (parent.kind === SyntaxKind.ImportSpecifier || parent.kind === SyntaxKind.ExportSpecifier) continue;
        const resolved = this.resolve(other, id, name);
        if (resolved.kind !== 'function' || keyOf(resolved.file, resolved.node) !== fnKey) continue;
        if (isCallExpression(parent) && same(parent.expression, id)) found.push({ file: other, call: parent });
        else return `${name} is used as a value at ${this.rel(other)}:${this.line(other, id)}`;
      }
    }
    return found;
  }

  private exported(file: SourceFile, fn: Node, name: string): boolean {
    const declaration = isFunctionDeclaration(fn) ? fn : fn.parent?.parent?.parent; // arrow -> VariableDeclaration -> List -> VariableStatement
    const flags = (declaration as { modifierFlags?: number } | undefined)?.modifierFlags ?? 0;
    if ((flags & (ModifierFlags.Export | ModifierFlags.Default)) !== 0) return true;
    return file.statements.some(
      (s) =>
        (isExportDeclaration(s) && s.exportClause !== undefined && 'elements' in s.exportClause && s.exportClause.elements.some((e) => (e.propertyName ?? e.name).getText(file) === name)) ||
        (s.kind === SyntaxKind.ExportAssignment && (s as unknown as { expression: Node }).expression.getText(file) === name),
    );
  }

  private readonly identifierCache = new Map<string, Map<string, Node[]>>();

  private identifiers(sf: SourceFile): Map<string, Node[]> {
    let byName = this.identifierCache.get(sf.fileName);
    if (!byName) {
      const map = new Map<string, Node[]>();
      const visit = (node: Node): void => {
        if (isIdentifier(node)) map.set(node.text, [...(map.get(node.text) ?? []), node]);
        node.forEachChild(visit);
      };
      visit(sf);
      byName = map;
      this.identifierCache.set(sf.fileName, byName);
    }
    return byName;
  }

  private unproven(sf: SourceFile, e: Node, ctx: Ctx, why: string): void {
    const file = this.rel(sf);
    const expression = collapse(e.getText(sf));
    const allowance = this.allowance(file, expression);
    if (allowance) {
      ctx.state.allowed = true;
      this.used.set(allowance, (this.used.get(allowance) ?? 0) + 1);
      return;
    }
    ctx.state.unsafe = true;
    this.findings.push({ file, line: this.line(sf, e), expression, sink: ctx.sink, why });
  }
}

interface Ctx {
  sink: string;
  state: { quoted: boolean; allowed: boolean; unsafe: boolean };
  depth: number;
  seen: Set<string>;
}

function bindsName(binding: Node, name: string): boolean {
  if (isIdentifier(binding)) return binding.text === name;
  let found = false;
  binding.forEachChild(function visit(child): undefined {
    if (found) return undefined;
    if (isIdentifier(child) && child.text === name && child.parent && 'name' in child.parent && same((child.parent as { name: Node }).name, child)) found = true;
    else child.forEachChild(visit);
    return undefined;
  });
  return found;
}

function kindName(e: Node): string {
  if (isPropertyAccessExpression(e)) return 'a property of an object: a value the checker cannot trace';
  return `a ${SyntaxKind[e.kind]} the checker cannot prove constant`;
}

/**
 * Parses every .ts file that `tsconfig` includes and whose path starts with
 * `under` (through the TypeScript 7 API: one tsgo process for the call) and
 * checks every sink in them.
 */
/**
 * Parses every .ts file that `tsconfig` includes and whose path starts with
 * `under` (through the TypeScript 7 API: one tsgo process for the call) and
 * hands them to `fn`, keyed by absolute path.
 */
export function withSourceFiles<T>(tsconfig: string, options: { root: string; under: string }, fn: (files: ReadonlyMap<string, SourceFile>) => T): T {
  const api = new API({ cwd: options.root });
  try {
    const snapshot = api.updateSnapshot({ openProjects: [tsconfig] });
    const project = snapshot.getProjects().find((p) => resolve(p.configFileName) === resolve(tsconfig));
    if (!project) throw new Error(`TypeScript did not open ${tsconfig}`);
    const prefix = resolve(options.root, options.under);
    const files: ProgramFiles = new Map();
    for (const name of project.program.getSourceFileNames()) {
      if (!name.startsWith(`${prefix}/`) || !name.endsWith('.ts') || name.endsWith('.d.ts')) continue;
      const sf = project.program.getSourceFile(name);
      if (sf) files.set(resolve(sf.fileName), sf);
    }
    return fn(files);
  } finally {
    api.close();
  }
}

/** withSourceFiles over in-memory files (name -> source) under src/ of a temporary project. */
export function withSnippets<T>(sources: Record<string, string>, fn: (files: ReadonlyMap<string, SourceFile>, root: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'agentry-ast-check-'));
  try {
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'nodenext', strict: false, noEmit: true, types: [] }, include: ['src'] }));
    mkdirSync(join(dir, 'src'), { recursive: true });
    for (const [name, text] of Object.entries(sources)) writeFileSync(join(dir, 'src', name), text);
    return withSourceFiles(join(dir, 'tsconfig.json'), { root: dir, under: 'src' }, (files) => fn(files, dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Checks every sink of the files `tsconfig` includes under `under`. */
export function checkProject(tsconfig: string, options: { root: string; under: string; allow?: readonly Allowance[] }): CheckResult {
  return withSourceFiles(tsconfig, options, (files) => checkFiles(files, options.root, options.allow ?? []));
}

/** Checks in-memory files (name -> source), written to a temporary project for the parser. */
export function checkSnippets(sources: Record<string, string>, allow: readonly Allowance[] = []): CheckResult {
  return withSnippets(sources, (files, root) => checkFiles(files, root, allow));
}

function checkFiles(files: ReadonlyMap<string, SourceFile>, root: string, allow: readonly Allowance[]): CheckResult {
  const checker = new Checker(root, files as ProgramFiles, allow);
  for (const sf of files.values()) checker.run(sf);
  return {
    files: files.size,
    sites: checker.sites,
    findings: checker.findings,
    unused: allow.filter((a) => !checker.used.has(a)),
    used: checker.used,
  };
}
