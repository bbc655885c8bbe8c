/**
 * From a plain JavaScript model function to an expression DAG: the function's source
 * (Function.prototype.toString) is parsed with acorn and its syntax tree is evaluated symbolically,
 * each arithmetic operation on the arguments becoming a graph node (graph.ts).
 *
 * The supported subset (docs/write-your-own-model.md lists it for users):
 *   - arrow functions and `function` functions (also object-method shorthand), up to three array
 *     arguments (x, u, θ), each an identifier or a simple array pattern `([q, w], [tau], [m, l])`;
 *   - numeric literals, + − * / ** and unary −/+, Math.PI, Math.E, and Math.sin cos tan exp log sqrt
 *     tanh atan atan2 abs min max pow sinh cosh asin acos hypot;
 *   - `const`/`let` declarations, also `const [a, b] = x`; local arrays `[a, b, ...s]`;
 *   - indexing an argument or a local array by a constant integer (x[0], p[3], x[n + i]), `.length`;
 *   - comparisons (< <= > >= === !== == !=), && || !, `c ? a : b`, and `if (c) { … return […]; }`
 *     with or without `else` (piecewise: each output is select(c, then, else));
 *   - `for (let i = a; i < b; i++)` with constant a, b, step: unrolled; in it and in straight-line
 *     code, `let` variables and local array entries may be reassigned (= += -= *= /= **= ++ --),
 *     except inside an if branch whose condition is only known at run time (it would need a select
 *     per variable; a condition on a loop counter is known, and only its taken branch is walked);
 *   - `return [ … ]` (an array literal, possibly with ...spreads, or a local array).
 * Everything else (while loops, closures over outer variables, calls of other functions,
 * non-constant indices, strings, objects) is reported, with its line and column in the function's
 * source, never approximated. All problems found are reported in one DmpcInputError.
 */
import { parse, type ArrayPattern, type Expression, type Function as FunctionNode, type Node, type Pattern, type SpreadElement, type Statement } from 'acorn';
import { DmpcInputError } from '../common/errors.js';
import { Graph, type UnaryFunction, unaryFunctions, varKey } from './graph.js';

/** One argument array of the model function, e.g. { role: 'state', length: nx }. */
export interface ArgumentSpec {
  role: string;
  /** Known length; undefined when the caller infers it from the function (see `used`). */
  length?: number;
}

export interface InterpretedFunction {
  graph: Graph;
  /** The function's source text as parsed (what a model document stores to rebuild the model). */
  source: string;
  /** The returned entries, one node each. */
  outputs: number[];
  /** Per argument: 1 + the largest index read (0 when unused). */
  used: number[];
}

type Value =
  | { t: 'real'; id: number }
  | { t: 'bool'; id: number }
  /** A local array; `depth`: the if-branch depth it was created at (entries may be set only there). */
  | { t: 'array'; items: number[]; depth: number }
  | { t: 'arg'; arg: number }
  | { t: 'math' };

/**
 * A name's binding. Blocks copy the Map, not the bindings, so assigning a `let` declared outside a
 * block (a loop body) updates the one binding. `depth` is the if-branch depth of the declaration:
 * assignments happen only at that depth, so a branch never changes what the code after the if sees.
 */
interface Binding { value: Value; kind: 'const' | 'let' | 'argument' | 'loop counter'; depth: number }
type Scope = Map<string, Binding>;
/** What a statement list does: returns outputs, falls through to the next statement, or failed (reported). */
type Flow = { outputs: number[] } | 'falls-through' | 'failed';

const binaryArithmetic = new Set(['+', '-', '*', '/', '**']);
const comparisons = { '<': 'lt', '<=': 'le', '>': 'gt', '>=': 'ge', '===': 'eq', '==': 'eq', '!==': 'ne', '!=': 'ne' } as const;
const mathConstants: Record<string, number> = { PI: Math.PI, E: Math.E };
const mathFunctions = [...Object.keys(unaryFunctions).filter((k) => k !== 'sign'), 'atan2', 'pow', 'min', 'max', 'hypot'];

/** Readable names of unsupported syntax. */
const constructNames: Record<string, string> = {
  ForStatement: 'a for loop', ForInStatement: 'a for-in loop', ForOfStatement: 'a for-of loop', WhileStatement: 'a while loop',
  DoWhileStatement: 'a do-while loop', SwitchStatement: 'a switch statement', TryStatement: 'a try statement',
  ThrowStatement: 'a throw statement', FunctionDeclaration: 'a nested function declaration', ClassDeclaration: 'a class',
  LabeledStatement: 'a labelled statement', BreakStatement: 'break', ContinueStatement: 'continue', WithStatement: 'with',
  DebuggerStatement: 'debugger', AssignmentExpression: 'an assignment', UpdateExpression: 'an increment/decrement (++/--)',
  SequenceExpression: 'a comma expression', ArrowFunctionExpression: 'a nested function', FunctionExpression: 'a nested function',
  ObjectExpression: 'an object literal', TemplateLiteral: 'a template string', TaggedTemplateExpression: 'a tagged template',
  NewExpression: '`new`', ThisExpression: '`this`', ClassExpression: 'a class', AwaitExpression: 'await', YieldExpression: 'yield',
  ImportExpression: 'import()', ChainExpression: 'optional chaining (?.)', MetaProperty: 'new.target/import.meta', Super: 'super',
};

/**
 * Parses a function's own source (or a source text: it is parsed, never executed). `shift`: characters
 * added before it on line 1 to make it parse.
 */
function parseFunction(f: Function | string, op: string): { fn: FunctionNode; shift: number; source: string } {
  const source = typeof f === 'string' ? f.trim() : Function.prototype.toString.call(f);
  if (/\{\s*\[native code\]\s*\}\s*$/.test(source)) {
    throw new DmpcInputError(op, 'f', 'is a built-in or bound function, whose source cannot be read: pass a plain arrow or function expression');
  }
  const options = { ecmaVersion: 'latest', locations: true, sourceType: 'script' } as const;
  let firstError: unknown;
  // `(src)` parses arrow and function expressions; `({src})` parses object-method shorthand `f(x) { … }`
  for (const [pre, post, shift] of [['(', ')', 1], ['({', '})', 2]] as const) {
    try {
      const program = parse(pre + source + post, options);
      const stmt = program.body[0];
      if (program.body.length !== 1 || stmt.type !== 'ExpressionStatement') continue;
      let e: Expression = stmt.expression;
      if (e.type === 'ObjectExpression' && e.properties.length === 1 && e.properties[0].type === 'Property' && e.properties[0].method) {
        e = e.properties[0].value as Expression;
      }
      if (e.type === 'ArrowFunctionExpression' || e.type === 'FunctionExpression') return { fn: e, shift, source };
    } catch (err) { firstError ??= err; }
  }
  throw new DmpcInputError(op, 'f', `could not be parsed as a function expression (${firstError instanceof Error ? firstError.message : 'unrecognised form'})`);
}

/** Saves every visible binding's value and array entries; the returned function puts them back. */
function snapshot(scope: Scope): () => void {
  const saved = [...new Set(scope.values())].map((b) => ({ b, value: b.value, items: b.value.t === 'array' ? [...b.value.items] : undefined }));
  return () => {
    for (const { b, value, items } of saved) {
      b.value = value;
      if (items && value.t === 'array') value.items.splice(0, value.items.length, ...items);
    }
  };
}

class Interpreter {
  readonly g = new Graph();
  readonly problems: string[] = [];
  readonly used: number[];
  private readonly poison: number;
  /** How many if branches the walk is inside (see Binding). */
  private depth = 0;
  /** How many unrolled loops the walk is inside (a return there is not supported). */
  private loops = 0;

  constructor(private readonly args: readonly ArgumentSpec[], private readonly shift: number, private readonly lines: string[]) {
    this.used = args.map(() => 0);
    this.poison = this.g.constant(NaN);
  }

  /**
   * Records a problem at node `n` and returns a placeholder so the walk continues (to report all).
   * The position is in the source as Function.prototype.toString returns it, which a transpiler may
   * have reformatted (tsx prints a function on one line), so the text found there is quoted too.
   */
  problem(n: Node, message: string): Value {
    const loc = n.loc?.start;
    let where = 'somewhere';
    if (loc) {
      const col = loc.column - (loc.line === 1 ? this.shift : 0);
      const text = (this.lines[loc.line - 1] ?? '').slice(col).trim();
      where = `line ${loc.line}, column ${col + 1}${text ? ` ("${text.length > 40 ? text.slice(0, 40) + '…' : text}")` : ''}`;
    }
    const line = `${where}: ${message}`;
    // statements after an if are walked once per branch that falls through: report each problem once
    if (!this.problems.includes(line)) this.problems.push(line);
    return { t: 'real', id: this.poison };
  }

  private argumentEntry(n: Node, arg: number, index: number, name: string): number {
    const spec = this.args[arg];
    if (!Number.isInteger(index) || index < 0) { this.problem(n, `${name}[${index}]: an index must be a non-negative integer`); return this.poison; }
    if (spec.length !== undefined && index >= spec.length) {
      this.problem(n, `${name}[${index}] is out of range: the ${spec.role} has ${spec.length} entr${spec.length === 1 ? 'y' : 'ies'}`);
      return this.poison;
    }
    this.used[arg] = Math.max(this.used[arg], index + 1);
    return this.g.variable(varKey(arg, index));
  }

  bindParameters(fn: FunctionNode, scope: Scope): void {
    if (fn.async || fn.generator) this.problem(fn, 'async and generator functions are not supported');
    if (fn.params.length > this.args.length) {
      this.problem(fn.params[this.args.length], `the function takes ${fn.params.length} arguments; a model function takes (${this.args.map((a) => a.role).join(', ')})`);
    }
    fn.params.slice(0, this.args.length).forEach((p, arg) => {
      if (p.type === 'Identifier') scope.set(p.name, { value: { t: 'arg', arg }, kind: 'argument', depth: 0 });
      else if (p.type === 'ArrayPattern') this.bindPattern(p, { t: 'arg', arg }, scope, this.args[arg].role, 'argument');
      else this.problem(p, `argument ${arg + 1}: only a name or an array pattern [a, b] is supported (no defaults, rest or objects)`);
    });
  }

  private bindPattern(p: ArrayPattern, v: Value, scope: Scope, what: string, kind: Binding['kind']): void {
    p.elements.forEach((el, k) => {
      if (el === null) return;
      if (el.type !== 'Identifier') { this.problem(el, 'only plain names are supported inside an array pattern'); return; }
      scope.set(el.name, { value: { t: 'real', id: this.element(el, v, k, what) }, kind, depth: this.depth });
    });
  }

  /** Entry k of an array value. */
  private element(n: Node, v: Value, k: number, what: string): number {
    if (v.t === 'arg') return this.argumentEntry(n, v.arg, k, what);
    if (v.t === 'array') {
      if (Number.isInteger(k) && k >= 0 && k < v.items.length) return v.items[k];
      this.problem(n, `${what}[${k}] is out of range: the array has ${v.items.length} entries`);
      return this.poison;
    }
    this.problem(n, `${what} is not an array`);
    return this.poison;
  }

  /** The entries of an array value (an argument only when its length is known). */
  items(n: Node, v: Value, what: string): number[] | undefined {
    if (v.t === 'array') return v.items;
    if (v.t === 'arg') {
      const len = this.args[v.arg].length;
      if (len === undefined) { this.problem(n, `${what} is used as a whole array, which needs the ${this.args[v.arg].role}'s size to be given`); return undefined; }
      return Array.from({ length: len }, (_, k) => this.argumentEntry(n, v.arg, k, what));
    }
    this.problem(n, `${what} is not an array`);
    return undefined;
  }

  real(e: Expression | SpreadElement | Pattern, scope: Scope): number {
    const v = this.expr(e, scope);
    if (v.t === 'real') return v.id;
    this.problem(e, v.t === 'bool' ? 'a comparison is used as a number' : v.t === 'math' ? '`Math` is used as a number' : 'an array is used as a number (index it with a constant)');
    return this.poison;
  }

  condition(e: Expression, scope: Scope): number {
    const v = this.expr(e, scope);
    if (v.t === 'bool') return v.id;
    this.problem(e, 'a condition must be a comparison (e.g. x[0] > 0), combined with && || !');
    return this.g.bool(false);
  }

  expr(e: Expression | SpreadElement | Pattern, scope: Scope): Value {
    const g = this.g;
    switch (e.type) {
      case 'Literal':
        if (typeof e.value === 'number') return { t: 'real', id: g.constant(e.value) };
        if (typeof e.value === 'boolean') return { t: 'bool', id: g.bool(e.value) };
        return this.problem(e, `the literal ${e.raw ?? ''} is not a number`);
      case 'Identifier': {
        const v = scope.get(e.name);
        if (v) return v.value;
        if (e.name === 'Math') return { t: 'math' };
        if (e.name === 'Infinity') return { t: 'real', id: g.constant(Infinity) };
        return this.problem(e, `'${e.name}' is not defined inside the function: a model function may use only its arguments, its own constants and Math (closures over outer variables are not supported; pass such values as parameters θ)`);
      }
      case 'UnaryExpression':
        if (e.operator === '-') return { t: 'real', id: g.neg(this.real(e.argument, scope)) };
        if (e.operator === '+') return { t: 'real', id: this.real(e.argument, scope) };
        if (e.operator === '!') return { t: 'bool', id: g.not(this.condition(e.argument, scope)) };
        return this.problem(e, `the operator '${e.operator}' is not supported`);
      case 'BinaryExpression': {
        if (e.left.type === 'PrivateIdentifier') return this.problem(e, 'private names are not supported');
        if (binaryArithmetic.has(e.operator)) {
          const a = this.real(e.left, scope), b = this.real(e.right, scope);
          switch (e.operator) {
            case '+': return { t: 'real', id: g.add(a, b) };
            case '-': return { t: 'real', id: g.sub(a, b) };
            case '*': return { t: 'real', id: g.mul(a, b) };
            case '/': return { t: 'real', id: g.div(a, b) };
            default: return { t: 'real', id: g.pow(a, b) };
          }
        }
        const cmp = comparisons[e.operator as keyof typeof comparisons];
        if (cmp) return { t: 'bool', id: g.compare(cmp, this.real(e.left, scope), this.real(e.right, scope)) };
        return this.problem(e, `the operator '${e.operator}' is not supported (use + - * / ** and comparisons)`);
      }
      case 'LogicalExpression': {
        if (e.operator === '??') return this.problem(e, "the operator '??' is not supported");
        const a = this.condition(e.left, scope), na = g.node(a);
        // a constant left side decides without the right one, as in JS (i > 0 && x[i - 1] > 0 at i = 0)
        if (na.op === 'bconst' && (na.c === 1) === (e.operator === '||')) return { t: 'bool', id: a };
        return { t: 'bool', id: g.logic(e.operator === '&&' ? 'and' : 'or', a, this.condition(e.right, scope)) };
      }
      case 'ConditionalExpression': {
        const c = this.condition(e.test, scope), nc = g.node(c);
        // a constant condition (e.g. on a loop counter) walks only the branch taken, as JS evaluates it
        if (nc.op === 'bconst') return this.expr(nc.c ? e.consequent : e.alternate, scope);
        const a = this.expr(e.consequent, scope), b = this.expr(e.alternate, scope);
        if (a.t === 'real' && b.t === 'real') return { t: 'real', id: g.select(c, a.id, b.id) };
        if ((a.t === 'array' || a.t === 'arg') && (b.t === 'array' || b.t === 'arg')) {
          const ia = this.items(e.consequent, a, 'the first branch'), ib = this.items(e.alternate, b, 'the second branch');
          if (!ia || !ib) return { t: 'real', id: this.poison };
          if (ia.length !== ib.length) return this.problem(e, `the branches are arrays of different lengths (${ia.length} and ${ib.length})`);
          return { t: 'array', items: ia.map((x, k) => g.select(c, x, ib[k])), depth: this.depth };
        }
        return this.problem(e, 'both branches of c ? a : b must be numbers (or arrays of the same length)');
      }
      case 'MemberExpression': {
        if (e.optional) return this.problem(e, 'optional chaining (?.) is not supported');
        if (e.object.type === 'Super') return this.problem(e, 'super is not supported');
        const obj = this.expr(e.object, scope);
        const what = e.object.type === 'Identifier' ? e.object.name : 'the array';
        if (!e.computed && e.property.type === 'Identifier') {
          const name = e.property.name;
          if (obj.t === 'math') {
            if (name in mathConstants) return { t: 'real', id: g.constant(mathConstants[name]) };
            return this.problem(e, `Math.${name} is not supported as a value (Math.PI and Math.E are)`);
          }
          if (name === 'length' && (obj.t === 'array' || obj.t === 'arg')) {
            const len = obj.t === 'array' ? obj.items.length : this.args[obj.arg].length;
            if (len !== undefined) return { t: 'real', id: g.constant(len) };
          }
          return this.problem(e, `the property .${name} is not supported`);
        }
        if (obj.t !== 'array' && obj.t !== 'arg') return this.problem(e, `${what} is not an array, it cannot be indexed`);
        if (e.property.type === 'PrivateIdentifier') return this.problem(e, 'private names are not supported');
        const k = g.constValue(this.real(e.property, scope));
        if (k === undefined) return this.problem(e.property, `${what}[…]: the index must be a constant integer (computed from literals only)`);
        return { t: 'real', id: this.element(e, obj, k, what) };
      }
      case 'CallExpression': return this.call(e, scope);
      case 'ArrayExpression': {
        const items: number[] = [];
        for (const el of e.elements) {
          if (el === null) { this.problem(e, 'an array with holes is not supported'); continue; }
          if (el.type === 'SpreadElement') {
            const v = this.expr(el.argument, scope);
            items.push(...(this.items(el, v, el.argument.type === 'Identifier' ? el.argument.name : 'the spread value') ?? []));
          } else items.push(this.real(el, scope));
        }
        return { t: 'array', items, depth: this.depth };
      }
      default:
        return this.problem(e, `${constructNames[e.type] ?? e.type} is not supported in a model function`);
    }
  }

  private call(e: Extract<Expression, { type: 'CallExpression' }>, scope: Scope): Value {
    const g = this.g, c = e.callee;
    const isMath = c.type === 'MemberExpression' && !c.computed && c.property.type === 'Identifier' && c.object.type === 'Identifier'
      && c.object.name === 'Math' && !scope.has('Math');
    if (!isMath || c.type !== 'MemberExpression' || c.property.type !== 'Identifier') {
      const name = c.type === 'Identifier' ? `'${c.name}'` : 'a function';
      return this.problem(e, `calling ${name} is not supported: only Math functions (${mathFunctions.join(', ')}) can be called; inline other functions' expressions`);
    }
    const name = c.property.name;
    if (e.optional) return this.problem(e, 'optional calls (?.) are not supported');
    const args: number[] = [];
    for (const a of e.arguments) {
      if (a.type === 'SpreadElement') { this.problem(a, `spreading arguments into Math.${name} is not supported`); continue; }
      args.push(this.real(a, scope));
    }
    const arity = (n: number | [number, number]): boolean => {
      const [lo, hi] = typeof n === 'number' ? [n, n] : n;
      if (args.length >= lo && args.length <= hi) return true;
      this.problem(e, `Math.${name} takes ${lo === hi ? lo : `at least ${lo}`} argument${lo === 1 && hi === 1 ? '' : 's'}, got ${args.length}`);
      return false;
    };
    if (name in unaryFunctions && name !== 'sign') {
      return arity(1) ? { t: 'real', id: g.unary(name as UnaryFunction, args[0]) } : { t: 'real', id: this.poison };
    }
    switch (name) {
      case 'atan2': return arity(2) ? { t: 'real', id: g.atan2(args[0], args[1]) } : { t: 'real', id: this.poison };
      case 'pow': return arity(2) ? { t: 'real', id: g.pow(args[0], args[1]) } : { t: 'real', id: this.poison };
      case 'hypot': return arity([1, Infinity]) ? { t: 'real', id: g.hypot(args) } : { t: 'real', id: this.poison };
      case 'min': case 'max':
        // left fold: at a tie the later argument wins, which decides whose derivative is taken (derive.ts)
        return arity([1, Infinity]) ? { t: 'real', id: args.reduce((a, b) => g.minmax(name, a, b)) } : { t: 'real', id: this.poison };
      default:
        return this.problem(e, `Math.${name} is not supported (supported: ${mathFunctions.join(', ')})`);
    }
  }

  declare(s: Extract<Statement, { type: 'VariableDeclaration' }>, scope: Scope): void {
    if (s.kind !== 'const' && s.kind !== 'let') { this.problem(s, `'${s.kind}' declarations are not supported: use const or let`); return; }
    for (const d of s.declarations) {
      if (!d.init) { this.problem(d, 'a declaration needs a value'); continue; }
      const v = this.expr(d.init, scope);
      if (d.id.type === 'Identifier') {
        if (v.t === 'math') { this.problem(d, 'aliasing Math is not supported'); continue; }
        scope.set(d.id.name, { value: v, kind: s.kind, depth: this.depth });
      } else if (d.id.type === 'ArrayPattern') {
        this.bindPattern(d.id, v, scope, d.init.type === 'Identifier' ? d.init.name : 'the array', s.kind);
      } else this.problem(d.id, 'only names and array patterns [a, b] can be declared (no object patterns)');
    }
  }

  /**
   * Interprets a statement list in its own scope (a copy: declarations inside do not leak out).
   * `after` continues with whatever follows the list when it falls through (the statements after an
   * enclosing block or if, in their own scope: branches cannot assign, so nothing leaks); at the
   * function's top level it is 'falls-through', a missing return.
   */
  block(stmts: readonly Statement[], outer: Scope, after: () => Flow): Flow {
    const scope: Scope = new Map(outer);
    for (let i = 0; i < stmts.length; i++) {
      const s = stmts[i];
      const rest = stmts.slice(i + 1);
      let restReached = false;
      const next = (): Flow => { restReached = true; return this.block(rest, scope, after); };
      const endsHere = (flow: Flow): Flow => {
        if (!restReached && rest.length) this.problem(rest[0], 'unreachable code after a return');
        return flow;
      };
      switch (s.type) {
        case 'VariableDeclaration': this.declare(s, scope); break;
        case 'EmptyStatement': break;
        case 'ExpressionStatement':
          if (s.directive !== undefined) break; // 'use strict'
          if (s.expression.type === 'AssignmentExpression' || s.expression.type === 'UpdateExpression') this.assign(s.expression, scope);
          else this.problem(s, 'an expression statement has no effect in a model function');
          break;
        case 'ForStatement': this.unroll(s, scope); break;
        case 'ReturnStatement': {
          if (this.loops) return this.failed(s, 'return inside a loop is not supported');
          if (!s.argument) return endsHere(this.failed(s, 'return needs a value: return [f₀, f₁, …]'));
          const v = this.expr(s.argument, scope);
          if (v.t === 'real' || v.t === 'bool') return endsHere(this.failed(s, 'return an array [f₀, f₁, …], not a single value'));
          const items = this.items(s.argument, v, 'the returned value');
          // a copy: code on another path may still set entries of the same local array
          return endsHere(items ? { outputs: [...items] } : 'failed');
        }
        case 'BlockStatement': return endsHere(this.block(s.body, scope, next));
        case 'IfStatement': {
          const c = this.condition(s.test, scope), nc = this.g.node(c);
          if (nc.op === 'bconst') {
            // decided now (e.g. by a loop counter): only the branch taken exists, at this depth, so it
            // may assign variables declared outside it
            const taken = nc.c ? s.consequent : s.alternate;
            if (!taken) return next();
            return this.block(taken.type === 'BlockStatement' ? taken.body : [taken], scope, next);
          }
          // both branches may fall through to the rest: it is walked once, at the if's depth (a branch
          // cannot have changed anything the rest sees, see Binding), and what it assigns is undone
          // afterwards, because the other branch, walked later, must still see the values before it
          let restFlow: Flow | undefined;
          const depth = this.depth;
          const rest1 = (): Flow => {
            if (restFlow === undefined) {
              const inner = this.depth, restore = snapshot(scope);
              this.depth = depth;
              restFlow = next();
              this.depth = inner;
              restore();
            }
            return restFlow;
          };
          const yes = this.branch(s.consequent, scope, rest1);
          const no = s.alternate ? this.branch(s.alternate, scope, rest1) : rest1();
          endsHere(yes);
          if (yes === 'failed' || no === 'failed') return 'failed';
          if (yes === 'falls-through' && no === 'falls-through') return 'falls-through';
          if (yes === 'falls-through' || no === 'falls-through') return this.failed(s, 'not every path through this if reaches a return');
          if (yes.outputs.length !== no.outputs.length) {
            return this.failed(s, `the branches return arrays of different lengths (${yes.outputs.length} and ${no.outputs.length})`);
          }
          return { outputs: yes.outputs.map((a, k) => this.g.select(c, a, no.outputs[k])) };
        }
        default:
          this.problem(s, `${constructNames[s.type] ?? s.type} is not supported in a model function`);
      }
    }
    return after();
  }

  private branch(s: Statement, scope: Scope, after: () => Flow): Flow {
    this.depth++;
    try { return this.block(s.type === 'BlockStatement' ? s.body : [s], scope, after); } finally { this.depth--; }
  }

  /** `a = e`, `a op= e`, `a++`, `arr[k] = e` on let variables and local arrays. */
  private assign(e: Extract<Expression, { type: 'AssignmentExpression' | 'UpdateExpression' }>, scope: Scope): void {
    const g = this.g;
    const target = e.type === 'AssignmentExpression' ? e.left : e.argument;
    const combine = (old: number, rhs: () => number, op: string): number | undefined => {
      switch (op) {
        case '=': return rhs();
        case '+=': case '++': return g.add(old, op === '++' ? g.constant(1) : rhs());
        case '-=': case '--': return g.sub(old, op === '--' ? g.constant(1) : rhs());
        case '*=': return g.mul(old, rhs());
        case '/=': return g.div(old, rhs());
        case '**=': return g.pow(old, rhs());
        default: this.problem(e, `the operator '${op}' is not supported`); return undefined;
      }
    };
    const rhs = () => (e.type === 'AssignmentExpression' ? this.real(e.right, scope) : this.poison);
    if (target.type === 'Identifier') {
      const b = scope.get(target.name);
      if (!b) { this.problem(target, `'${target.name}' is not declared inside the function`); return; }
      if (b.kind !== 'let') { this.problem(target, `'${target.name}' is ${b.kind === 'argument' ? 'an argument (read-only)' : `a ${b.kind}`}: only let variables can be assigned`); return; }
      if (b.depth !== this.depth) { this.problem(target, `'${target.name}' is assigned inside an if branch but declared outside it: not supported (use c ? a : b)`); return; }
      if (e.type === 'AssignmentExpression' && e.operator === '=') {
        const v = this.expr(e.right, scope);
        if (v.t === 'math') { this.problem(e, 'aliasing Math is not supported'); return; }
        b.value = v;
        return;
      }
      if (b.value.t !== 'real') { this.problem(target, `'${target.name}' is not a number`); return; }
      const id = combine(b.value.id, rhs, e.operator);
      if (id !== undefined) b.value = { t: 'real', id };
      return;
    }
    if (target.type === 'MemberExpression' && target.computed && target.object.type === 'Identifier' && target.property.type !== 'PrivateIdentifier') {
      const b = scope.get(target.object.name);
      if (!b || b.value.t !== 'array') {
        this.problem(target, b?.value.t === 'arg' ? `the argument ${target.object.name} is read-only` : `${target.object.name} is not a local array`);
        return;
      }
      const arr = b.value;
      if (arr.depth !== this.depth) { this.problem(target, `${target.object.name}[…] is set inside an if branch but the array was made outside it: not supported`); return; }
      const k = g.constValue(this.real(target.property, scope));
      if (k === undefined || !Number.isInteger(k) || k < 0 || k >= arr.items.length) {
        this.problem(target.property, `${target.object.name}[…]: the index must be a constant integer in 0 .. ${arr.items.length - 1} (arrays do not grow)`);
        return;
      }
      const id = combine(arr.items[k], rhs, e.operator);
      if (id !== undefined) arr.items[k] = id;
      return;
    }
    this.problem(target, 'only a let variable or an entry of a local array can be assigned');
  }

  /**
   * Unrolls `for (let i = a; i < b; i++) body` (also <=, >, >=, ++i, i--, i += c, i -= c) whose bounds
   * and step are constants: the body is walked once per value of i, with i a constant.
   */
  private unroll(s: Extract<Statement, { type: 'ForStatement' }>, scope: Scope): void {
    const g = this.g;
    const init = s.init, test = s.test, update = s.update;
    const decl = init?.type === 'VariableDeclaration' && init.kind === 'let' && init.declarations.length === 1 ? init.declarations[0] : undefined;
    if (!decl || decl.id.type !== 'Identifier' || !decl.init) { this.problem(s, 'a for loop must start `for (let i = <constant>; …`'); return; }
    const name = decl.id.name;
    const start = g.constValue(this.real(decl.init, scope));
    const bound = test?.type === 'BinaryExpression' && test.left.type === 'Identifier' && test.left.name === name ? g.constValue(this.real(test.right, scope)) : undefined;
    const cmp = test?.type === 'BinaryExpression' ? test.operator : '';
    let step: number | undefined;
    if (update?.type === 'UpdateExpression' && update.argument.type === 'Identifier' && update.argument.name === name) step = update.operator === '++' ? 1 : -1;
    else if (update?.type === 'AssignmentExpression' && update.left.type === 'Identifier' && update.left.name === name && (update.operator === '+=' || update.operator === '-=')) {
      const c = g.constValue(this.real(update.right, scope));
      if (c !== undefined) step = update.operator === '+=' ? c : -c;
    }
    if (start === undefined || bound === undefined || !['<', '<=', '>', '>='].includes(cmp) || step === undefined || step === 0) {
      this.problem(s, `a for loop is unrolled only as for (let ${name} = a; ${name} < b; ${name}++) with constant a, b and step (< <= > >=, ++ -- += -=)`);
      return;
    }
    const more = (v: number) => (cmp === '<' ? v < bound : cmp === '<=' ? v <= bound : cmp === '>' ? v > bound : v >= bound);
    let count = 0;
    for (let v = start; more(v); v += step) {
      if (++count > 10_000) { this.problem(s, 'a loop is unrolled at most 10000 times'); return; }
      const inner: Scope = new Map(scope);
      inner.set(name, { value: { t: 'real', id: g.constant(v) }, kind: 'loop counter', depth: this.depth });
      this.loops++;
      const flow = this.block(s.body.type === 'BlockStatement' ? s.body.body : [s.body], inner, () => 'falls-through');
      this.loops--;
      if (flow !== 'falls-through') return; // a return inside, reported
    }
  }

  private failed(n: Node, message: string): Flow { this.problem(n, message); return 'failed'; }
}

/**
 * Interprets `f` (a function, or the source text of one) symbolically. `args` describes its array
 * arguments in order; `op` names the calling operation in errors. Throws a DmpcInputError listing every unsupported construct with its position.
 */
export function interpretFunction(f: Function | string, args: readonly ArgumentSpec[], op: string): InterpretedFunction {
  if (typeof f !== 'function' && typeof f !== 'string') throw new DmpcInputError(op, 'f', `must be a function or its source text (got ${typeof f})`);
  const { fn, shift, source } = parseFunction(f, op);
  const it = new Interpreter(args, shift, source.split('\n'));
  const scope: Scope = new Map();
  it.bindParameters(fn, scope);
  let outputs: number[] = [];
  if (fn.body.type === 'BlockStatement') {
    const flow = it.block(fn.body.body, scope, () => 'falls-through');
    if (flow === 'falls-through') it.problem(fn, 'the function must end in return [f₀, f₁, …]');
    else if (flow !== 'failed') outputs = flow.outputs;
  } else {
    const v = it.expr(fn.body, scope);
    if (v.t === 'array' || v.t === 'arg') outputs = it.items(fn.body, v, 'the returned value') ?? [];
    else it.problem(fn.body, 'the function must return an array [f₀, f₁, …]');
  }
  if (it.problems.length) {
    throw new DmpcInputError(op, 'f', `uses what the derivative compiler does not support (${it.problems.length} problem${it.problems.length > 1 ? 's' : ''}):\n  ${it.problems.join('\n  ')}`);
  }
  return { graph: it.g, source, outputs, used: it.used };
}
