/**
 * Declared licenses as package managers write them (`MIT`, `GPL-2+`, `Apache 2.0`, `MIT or
 * Apache-2.0`, a paragraph of text) turned into what SBOM formats accept: a valid SPDX license
 * expression when one can be read from the text, else the text itself. Parsing is
 * `spdx-expression-parse`; fixing common spellings and deprecated ids is `spdx-correct`. Both
 * SBOM writers (CycloneDX and SPDX) use this, so a package's license reads the same in both.
 */
import parse from 'spdx-expression-parse';
import correct from 'spdx-correct';
import deprecatedIds from 'spdx-license-ids/deprecated.json' with { type: 'json' };
import currentIds from 'spdx-license-ids/index.json' with { type: 'json' };

/** A license after resolution: an SPDX expression, or free text that is not one. */
export type ResolvedLicense = { kind: 'spdx'; expression: string; node: parse.Info } | { kind: 'text'; text: string };

/** Longer texts are not license names; they are kept as text without trying to correct them. */
const MAX_CORRECTABLE = 200;
/** Longer texts are not expressions either (license files pasted into metadata); not parsed. */
const MAX_EXPRESSION = 4096;

const deprecated: ReadonlySet<string> = new Set<string>(deprecatedIds);
/** Current SPDX ids by lower-case spelling: `bsd-4-clause-uc` -> `BSD-4-Clause-UC`. */
const idByLowerCase: ReadonlyMap<string, string> = new Map(currentIds.map((id) => [id.toLowerCase(), id]));

/** Parses an SPDX expression, or null when it is not one. */
function tryParse(s: string): parse.Info | null {
  try {
    return parse(s);
  } catch {
    return null;
  }
}

function isConjunction(n: parse.Info): n is parse.ConjunctionInfo {
  return 'conjunction' in n;
}

/** A license id with its `+` and exception, as SPDX writes it. */
function leafText(n: parse.LicenseInfo): string {
  return `${n.license}${n.plus === true ? '+' : ''}${n.exception !== undefined ? ` WITH ${n.exception}` : ''}`;
}

/**
 * The canonical text of a parsed expression: upper-case operators, parentheses only where a
 * nested operator differs from its parent's (AND binds tighter than OR, so this is exact).
 */
export function expressionText(n: parse.Info): string {
  if (!isConjunction(n)) return leafText(n);
  const side = (c: parse.Info): string => (isConjunction(c) && c.conjunction !== n.conjunction ? `(${expressionText(c)})` : expressionText(c));
  return `${side(n.left)} ${n.conjunction.toUpperCase()} ${side(n.right)}`;
}

/** Replaces deprecated ids (`GPL-2.0`, `GPL-2.0+`) by their current ones (`GPL-2.0-only`, `GPL-2.0-or-later`). */
function upgrade(n: parse.Info): parse.Info {
  if (isConjunction(n)) return { conjunction: n.conjunction, left: upgrade(n.left), right: upgrade(n.right) };
  if (!deprecated.has(n.license)) return n;
  const fixed = correct(`${n.license}${n.plus === true ? '+' : ''}`, { upgrade: true });
  const p = fixed === null ? null : tryParse(fixed);
  if (p === null || isConjunction(p) || deprecated.has(p.license)) return n;
  return { license: p.license, plus: p.plus, exception: n.exception ?? p.exception };
}

/**
 * One license name (no operators) corrected by `spdx-correct`. A trailing `+` (Debian's
 * `GPL-2+`, "or any later version") is kept: spdx-correct reads `GPL-2+` as GPL-2.0-only.
 */
function correctName(name: string): parse.Info | null {
  // An id in the wrong case is that id; spdx-correct would guess another (BSD-4-clause-UC -> BSD-2-Clause).
  const exact = idByLowerCase.get(name.toLowerCase()) ?? rpmAliases.get(name);
  if (exact !== undefined) return { license: exact };
  // spdx-correct drops an exception (`GPL-2+ with OpenSSL exception` -> GPL-2.0-only): keep the text.
  if (/\swith\s/i.test(name)) return null;
  const plus = /^(.*?)\s*\+$/.exec(name);
  const fixed = correct(plus !== null && plus[1] !== undefined ? plus[1] : name, { upgrade: true });
  if (fixed === null) return null;
  let text = fixed;
  if (plus !== null) {
    if (text.endsWith('-only')) text = `${text.slice(0, -'-only'.length)}-or-later`;
    else if (!text.endsWith('-or-later') && !text.endsWith('+')) text = `${text}+`;
  }
  return tryParse(text);
}

/** Fedora's legacy short names that spdx-correct does not know (RPM `License:` tags). */
const rpmAliases: ReadonlyMap<string, string> = new Map([
  ['ASL 2.0', 'Apache-2.0'],
  ['ASL 1.1', 'Apache-1.1'],
  ['ASL 1.0', 'Apache-1.0'],
]);

const OPERATOR = /\s+(and|or|AND|OR)\s+/;

/**
 * Resolves one declared license. A valid expression is kept (deprecated ids upgraded); a name
 * spdx-correct knows is corrected (`Apache 2.0` -> `Apache-2.0`, `GPL-2+` -> `GPL-2.0-or-later`);
 * `a or b` of correctable names is joined with the upper-case operator; anything else is text.
 */
export function resolveLicense(raw: string): ResolvedLicense | null {
  const text = raw.trim();
  if (text === '' || text === 'NOASSERTION' || text === 'NONE') return null;
  const parsed = text.length <= MAX_EXPRESSION ? tryParse(text) : null;
  if (parsed !== null) {
    const node = upgrade(parsed);
    return { kind: 'spdx', expression: expressionText(node), node };
  }
  if (text.length <= MAX_CORRECTABLE && !/[()]/.test(text)) {
    // Names joined by one kind of operator, each corrected on its own (spdx-correct on the whole
    // text would keep only one of them).
    const parts = text.split(OPERATOR);
    const names = parts.filter((_p, i) => i % 2 === 0);
    const ops = new Set(parts.filter((_p, i) => i % 2 === 1).map((o) => o.toUpperCase()));
    if (ops.size <= 1) {
      const nodes = names.map(correctName);
      if (nodes.every((n): n is parse.Info => n !== null)) {
        const node = joinNodes(ops.has('AND') ? 'and' : 'or', nodes);
        if (node !== null) return { kind: 'spdx', expression: expressionText(node), node };
      }
    }
  }
  return { kind: 'text', text };
}

/** The SPDX `LicenseRef-` id for a text: `[A-Za-z0-9.-]` only, at most 64 characters after the prefix. */
export function licenseRefId(text: string): string {
  // Only the start matters for a 64-character id; cutting first keeps the regexes linear.
  const body = text
    .slice(0, 256)
    .replace(/[^A-Za-z0-9.-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64)
    .replace(/-+$/, '');
  return `LicenseRef-${body === '' ? 'unknown' : body}`;
}

/** `a op b op c` as a left-leaning tree; null for no nodes. */
function joinNodes(op: 'and' | 'or', nodes: readonly parse.Info[]): parse.Info | null {
  let acc: parse.Info | null = null;
  for (const n of nodes) acc = acc === null ? n : { conjunction: op, left: acc, right: n };
  return acc;
}

/** Several expressions joined with AND (an OR among them parenthesised); '' for none. */
export function conjoin(nodes: readonly parse.Info[]): string {
  const node = joinNodes('and', nodes);
  return node === null ? '' : expressionText(node);
}
