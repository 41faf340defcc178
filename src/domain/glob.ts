/**
 * Glob patterns matched in linear time: webhook policy filters (`repo_filters`, `tag_filters`)
 * today; Harbor's doublestar selectors (retention, immutability, replication) can reuse
 * {@link compileGlob} and {@link matchGlob}. A pattern is matched against a whole string (a full
 * repository name such as `library/alpine`, or a tag):
 *
 *   `*`       any run of characters except `/`        `library/*` matches `library/alpine`
 *   `**`      any run of characters, `/` included      `a**b` matches `a/x/b`
 *             at the start or after a `/`, and followed by a `/`: zero or more whole segments,
 *             so `**` `/alpine` matches `alpine` and `a/b/alpine`, `x/**` `/y` matches `x/y`
 *             and `x/a/b/y` (written apart here only because this is a comment)
 *             at the end after a `/`: the folder itself or anything below it,
 *             so `team/**` matches `team`, `team/a` and `team/a/b`
 *   `?`       one character except `/`
 *   `[abc]`   one character of a set; `[a-z]` ranges; `[!abc]` / `[^abc]` negates (and never
 *             matches `/`); a `]` right after `[` (or `[!`) is part of the set; a `[` without a
 *             closing `]` is a literal `[`
 *   `{a,b}`   either alternative (no nesting; an alternative is itself a glob without braces);
 *             a `{` without a closing `}` is a literal `{`
 *
 * Everything else matches itself, case-sensitively (repository names are lower-case by rule).
 * Characters are UTF-16 code units, as JavaScript strings count them.
 *
 * Why not a RegExp: JavaScript's engine backtracks, and `p1/*a*a*a*a*a*a*a*a*a*a!` against `p1/`
 * and forty `a`s took tens of seconds on the event loop. Here a pattern compiles once into a
 * program of at most `pattern.length + 1` states (a Thompson automaton), and matching advances the
 * set of live states one character at a time, visiting each state at most once per character.
 * A match therefore costs at most `(pattern.length + 1) × (value.length + 1)` state visits,
 * whatever the pattern; {@link matchGlob} can count them (`meter`) so tests can prove it.
 *
 * Domain code: pure, no I/O, imports nothing.
 */

/**
 * Bounds a policy-facing API enforces when a pattern list is created or changed (a 400 beyond
 * them). Matching never depends on them: a longer pattern stored earlier still matches in linear
 * time. With them, one filter list costs at most 32 × 257 × 256 ≈ 2.1 million state visits against
 * a 255-character repository name.
 */
export const globLimits = {
  /** Characters in one pattern. */
  maxPatternLength: 256,
  /** Patterns in one filter list. */
  maxPatterns: 32,
  /** `{…}` alternatives in one pattern, all groups together. */
  maxAlternatives: 32,
} as const;

/** A pattern that cannot compile: a range out of order, such as `[z-a]`. */
export class GlobSyntaxError extends Error {
  constructor(
    readonly pattern: string,
    readonly reason: string,
  ) {
    super(`invalid glob pattern "${pattern}": ${reason}`);
    this.name = 'GlobSyntaxError';
  }
}

// ---- Parsing: pattern text -> a flat list of nodes (alternatives hold node lists). ----

/** What one character must be: a code unit, anything but `/`, anything, or a set. */
type CharTest =
  | { kind: 'lit'; code: number }
  | { kind: 'notSlash' }
  | { kind: 'any' }
  | { kind: 'set'; negate: boolean; ascii: Uint8Array; ranges: ReadonlyArray<readonly [number, number]> };

type Node =
  | { kind: 'one'; test: CharTest } // a literal, `?` or `[...]`
  | { kind: 'run'; test: CharTest } // `*` (notSlash) or `**` (any)
  | { kind: 'segments' } // `**/`: empty, or anything ending in `/`
  | { kind: 'folder' } // trailing `/**`: empty, or `/` and anything
  | { kind: 'alt'; alts: Node[][] };

const SLASH = 0x2f;
const notSlash: CharTest = { kind: 'notSlash' };
const anyChar: CharTest = { kind: 'any' };

/** For each index, the next index at or after it holding `ch` (or -1): indexOf in O(1). */
function nextIndexTable(s: string, ch: string): Int32Array {
  const out = new Int32Array(s.length + 1).fill(-1);
  for (let i = s.length - 1; i >= 0; i--) out[i] = s.charAt(i) === ch ? i : out[i + 1]!;
  return out;
}

function parseSet(pattern: string, body: string): CharTest {
  let negate = false;
  if (body.startsWith('!') || body.startsWith('^')) {
    negate = true;
    body = body.slice(1);
  }
  const ascii = new Uint8Array(128);
  const ranges: Array<readonly [number, number]> = [];
  const addRange = (lo: number, hi: number): void => {
    if (lo > hi) throw new GlobSyntaxError(pattern, `range ${String.fromCharCode(lo)}-${String.fromCharCode(hi)} is out of order`);
    for (let c = lo; c <= hi && c < 128; c++) ascii[c] = 1;
    if (hi >= 128) ranges.push([Math.max(lo, 128), hi]);
  };
  for (let j = 0; j < body.length; ) {
    const lo = body.charCodeAt(j);
    if (j + 2 < body.length && body.charAt(j + 1) === '-') {
      addRange(lo, body.charCodeAt(j + 2));
      j += 3;
    } else {
      addRange(lo, lo);
      j += 1;
    }
  }
  return { kind: 'set', negate, ascii, ranges };
}

/** Parses one glob without the `{}` of an enclosing group; counts alternatives in `alts`. */
function parse(pattern: string, glob: string, counter: { alts: number }): Node[] {
  const out: Node[] = [];
  const nextClose = nextIndexTable(glob, ']');
  const nextBrace = nextIndexTable(glob, '}');
  const n = glob.length;
  for (let i = 0; i < n; i++) {
    const c = glob.charAt(i);
    if (c === '*') {
      if (glob.charAt(i + 1) === '*') {
        const atStart = i === 0 || glob.charAt(i - 1) === '/';
        i++;
        while (glob.charAt(i + 1) === '*') i++;
        const last = out[out.length - 1];
        if (atStart && glob.charAt(i + 1) === '/') {
          out.push({ kind: 'segments' });
          i++;
        } else if (i === n - 1 && last?.kind === 'one' && last.test.kind === 'lit' && last.test.code === SLASH) {
          out.pop();
          out.push({ kind: 'folder' });
        } else {
          out.push({ kind: 'run', test: anyChar });
        }
      } else {
        out.push({ kind: 'run', test: notSlash });
      }
    } else if (c === '?') {
      out.push({ kind: 'one', test: notSlash });
    } else if (c === '[') {
      const end = i + 2 <= n ? nextClose[i + 2]! : -1;
      if (end === -1) {
        out.push({ kind: 'one', test: { kind: 'lit', code: c.charCodeAt(0) } });
        continue;
      }
      out.push({ kind: 'one', test: parseSet(pattern, glob.slice(i + 1, end)) });
      i = end;
    } else if (c === '{') {
      const end = nextBrace[i + 1]!;
      if (end === -1) {
        out.push({ kind: 'one', test: { kind: 'lit', code: c.charCodeAt(0) } });
        continue;
      }
      const parts = glob.slice(i + 1, end).split(',');
      counter.alts += parts.length;
      out.push({ kind: 'alt', alts: parts.map((p) => parse(pattern, p, counter)) });
      i = end;
    } else {
      out.push({ kind: 'one', test: { kind: 'lit', code: glob.charCodeAt(i) } });
    }
  }
  return out;
}

// ---- The program: states of a Thompson automaton. ----

/** State kinds. */
const Op = {
  /** Consume one character passing `test`, go to `next`. */
  Char: 0,
  /** Consume one character passing `test` and stay; or go to `next` without consuming. */
  Loop: 1,
  /** Go to every state in `targets` without consuming. */
  Split: 2,
  /** The whole value matched. */
  Match: 3,
} as const;

type State =
  | { op: typeof Op.Char; test: CharTest; next: number }
  | { op: typeof Op.Loop; test: CharTest; next: number }
  | { op: typeof Op.Split; targets: number[] }
  | { op: typeof Op.Match };

/** A compiled pattern; build with {@link compileGlob}, match with {@link matchGlob}. */
export interface Glob {
  readonly pattern: string;
  /** Number of states; at most `pattern.length + 1`. */
  readonly size: number;
  /** `{…}` alternatives in the pattern, all groups together. */
  readonly alternatives: number;
  /** @internal */
  readonly states: readonly State[];
  /** @internal the entry state */
  readonly start: number;
}

/** Emits `nodes` so that they continue at state `next`; returns the entry state. */
function emit(states: State[], nodes: readonly Node[], next: number): number {
  const push = (s: State): number => states.push(s) - 1;
  for (let k = nodes.length - 1; k >= 0; k--) {
    const node = nodes[k]!;
    switch (node.kind) {
      case 'one':
        next = push({ op: Op.Char, test: node.test, next });
        break;
      case 'run':
        next = push({ op: Op.Loop, test: node.test, next });
        break;
      case 'segments': {
        // (?:.*/)? : skip, or any run followed by `/`.
        const slash = push({ op: Op.Char, test: { kind: 'lit', code: SLASH }, next });
        const run = push({ op: Op.Loop, test: anyChar, next: slash });
        next = push({ op: Op.Split, targets: [next, run] });
        break;
      }
      case 'folder': {
        // (?:/.*)? : skip, or `/` followed by any run.
        const run = push({ op: Op.Loop, test: anyChar, next });
        const slash = push({ op: Op.Char, test: { kind: 'lit', code: SLASH }, next: run });
        next = push({ op: Op.Split, targets: [next, slash] });
        break;
      }
      case 'alt': {
        const after = next;
        const targets = node.alts.map((alt) => emit(states, alt, after));
        next = push({ op: Op.Split, targets });
        break;
      }
    }
  }
  return next;
}

/** Compiles `pattern` (O(pattern length)). Throws {@link GlobSyntaxError} for a range out of order. */
export function compileGlob(pattern: string): Glob {
  const counter = { alts: 0 };
  const nodes = parse(pattern, pattern, counter);
  const states: State[] = [{ op: Op.Match }];
  const start = emit(states, nodes, 0);
  return { pattern, size: states.length, alternatives: counter.alts, states, start };
}

function passes(test: CharTest, c: number): boolean {
  switch (test.kind) {
    case 'lit':
      return c === test.code;
    case 'notSlash':
      return c !== SLASH;
    case 'any':
      return true;
    case 'set': {
      let hit = c < 128 ? test.ascii[c] === 1 : test.ranges.some(([lo, hi]) => c >= lo && c <= hi);
      if (test.negate) hit = !hit && c !== SLASH;
      return hit;
    }
  }
}

/** Counts the work of {@link matchGlob}: one step per state entering a state set. */
export interface GlobMeter {
  steps: number;
}

/**
 * True when `value` as a whole matches `glob`. Simulates the automaton over the set of live states:
 * each state enters the set at most once per position, so `meter.steps` grows by at most
 * `glob.size × (value.length + 1)` ≤ `(pattern.length + 1) × (value.length + 1)`.
 */
export function matchGlob(glob: Glob, value: string, meter?: GlobMeter): boolean {
  const { states } = glob;
  const seen = new Int32Array(states.length).fill(-1);
  const stack: number[] = [];
  let steps = 0;
  let current: number[] = [];
  let next: number[] = [];

  /** Adds `from` and every state reachable from it without consuming, for position `gen`. */
  const enter = (from: number, gen: number, into: number[]): void => {
    stack.push(from);
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (seen[id] === gen) continue;
      seen[id] = gen;
      steps++;
      const s = states[id]!;
      switch (s.op) {
        case Op.Char:
          into.push(id);
          break;
        case Op.Loop:
          into.push(id);
          stack.push(s.next);
          break;
        case Op.Split:
          for (let t = s.targets.length - 1; t >= 0; t--) stack.push(s.targets[t]!);
          break;
        case Op.Match:
          break;
      }
    }
  };

  enter(glob.start, 0, current);
  for (let i = 0; i < value.length && current.length > 0; i++) {
    const c = value.charCodeAt(i);
    const gen = i + 1;
    for (const id of current) {
      const s = states[id]!;
      if (s.op === Op.Char) {
        if (passes(s.test, c)) enter(s.next, gen, next);
      } else if (s.op === Op.Loop) {
        if (passes(s.test, c)) enter(id, gen, next);
      }
    }
    [current, next] = [next, current];
    next.length = 0;
  }
  if (meter) meter.steps += steps;
  // State 0 is Match; it was entered at position value.length only if the whole value matched.
  return seen[0] === value.length;
}

const cache = new Map<string, Glob | GlobSyntaxError>();
const cacheLimit = 1000;

/** The compiled form of `pattern`, or its syntax error (both cached). */
function cached(pattern: string): Glob | GlobSyntaxError {
  let hit = cache.get(pattern);
  if (hit === undefined) {
    try {
      hit = compileGlob(pattern);
    } catch (e) {
      if (!(e instanceof GlobSyntaxError)) throw e;
      hit = e;
    }
    if (cache.size >= cacheLimit) cache.delete(cache.keys().next().value!);
    cache.set(pattern, hit);
  }
  return hit;
}

/** True when `value` matches the glob `pattern` as a whole; a pattern that cannot compile matches nothing. */
export function globMatch(pattern: string, value: string): boolean {
  const glob = cached(pattern);
  return glob instanceof GlobSyntaxError ? false : matchGlob(glob, value);
}

/**
 * A policy filter: an empty list matches everything; otherwise `value` must match at least one
 * pattern, and a missing value (an event without a repository or a tag) matches nothing.
 */
export function filterMatches(patterns: readonly string[], value: string | null | undefined): boolean {
  if (patterns.length === 0) return true;
  if (value === null || value === undefined) return false;
  return patterns.some((p) => globMatch(p, value));
}

/**
 * Why `pattern` may not be stored in a filter list, or null when it may: beyond
 * {@link globLimits}, or not compilable. Phrased to follow the field's name
 * (`tag_filters[0] is longer than 256 characters`); the caller makes it a 400.
 */
export function globPatternProblem(pattern: string): string | null {
  if (pattern.length > globLimits.maxPatternLength) return `is longer than ${globLimits.maxPatternLength} characters`;
  const glob = cached(pattern);
  if (glob instanceof GlobSyntaxError) return `is not a valid glob: ${glob.reason}`;
  if (glob.alternatives > globLimits.maxAlternatives) return `has more than ${globLimits.maxAlternatives} {a,b} alternatives`;
  return null;
}
