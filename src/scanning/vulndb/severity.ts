/**
 * The severity of a finding, in the order docs/scanning.md gives: the package's own (distro)
 * severity word, then the per-package CVSS vectors, then the advisory's CVSS vectors (scored with
 * ae-cvss-calculator and rated by FIRST's bands), then the advisory's `database_specific` word,
 * else Unknown. Words that say "not rated" (`not yet assigned`, `untriaged`, ...) fall through to
 * the next source. Pure.
 */
import { lazyModule } from '../../platform/index.ts';
import type { CvssDetails, Severity } from '../adapter/protocol.ts';
import type { CompactAdvisory, CompactAffected, OsvSeverity } from './osv.ts';

/** ae-cvss-calculator, loaded by the first vector scored (platform/lazy-module.ts). */
const cvss = lazyModule<typeof import('ae-cvss-calculator')>('ae-cvss-calculator');

/** A scored CVSS vector. */
export interface CvssScore {
  version: 2 | 3 | 4;
  vector: string;
  score: number;
}

/**
 * A severity word of a distribution or advisory database as Harbor's severity, or null for a word
 * that rates nothing. Debian urgencies (`low`, `medium**`, `unimportant`, `not yet assigned`),
 * Ubuntu priorities (`negligible`, `low`, `medium`, `high`, `critical`, `untriaged`), GitHub's
 * (`LOW`, `MODERATE`, `HIGH`, `CRITICAL`), Red Hat's (`Important`).
 */
export function severityFromWord(word: string): Severity | null {
  const w = /^[a-z]+/.exec(word.trim().toLowerCase())?.[0] ?? '';
  switch (w) {
    case 'critical':
      return 'Critical';
    case 'high':
    case 'important':
      return 'High';
    case 'medium':
    case 'moderate':
      return 'Medium';
    case 'low':
    case 'unimportant':
    case 'negligible':
      return 'Low';
    default:
      return null;
  }
}

/** Scores already computed (a scan meets the same few vectors many times); emptied when it grows large. */
const scoreCache = new Map<string, CvssScore | null>();

/** The base score of a CVSS v2, v3.0, v3.1 or v4.0 vector, or null when it is not a complete vector. */
export function scoreVector(vector: string): CvssScore | null {
  let s = scoreCache.get(vector);
  if (s === undefined) {
    s = computeScore(vector);
    if (scoreCache.size >= 10_000) scoreCache.clear();
    scoreCache.set(vector, s);
  }
  return s;
}

function computeScore(vector: string): CvssScore | null {
  const v = vector.trim().replace(/^\((.*)\)$/, '$1');
  const cvssLib = cvss();
  try {
    if (v.startsWith('CVSS:3.1/')) return scored(3, v, new cvssLib.Cvss3P1(v).calculateScores().base);
    if (v.startsWith('CVSS:3.0/')) return scored(3, v, new cvssLib.Cvss3P0(v).calculateScores().base);
    if (v.startsWith('CVSS:4.0/')) return scored(4, v, new cvssLib.Cvss4P0(v).calculateScores().base);
    if (/^AV:[LAN]\//.test(v)) return scored(2, v, new cvssLib.Cvss2(v).calculateScores().base);
  } catch {
    return null; // the library throws on some malformed vectors
  }
  return null;
}

function scored(version: 2 | 3 | 4, vector: string, base: number | undefined): CvssScore | null {
  return typeof base === 'number' && Number.isFinite(base) && base >= 0 && base <= 10 ? { version, vector, score: base } : null;
}

/** FIRST's rating of a base score: v3/v4 bands Low, Medium, High, Critical; v2 bands Low, Medium, High. */
export function ratingOf(s: CvssScore): Severity {
  if (s.version === 2) return s.score < 4 ? 'Low' : s.score < 7 ? 'Medium' : 'High';
  if (s.score === 0) return 'None';
  return s.score < 4 ? 'Low' : s.score < 7 ? 'Medium' : s.score < 9 ? 'High' : 'Critical';
}

/** The first v3 vector of `list`, else the first v4, else the first v2, scored. */
function bestVector(list: readonly OsvSeverity[]): CvssScore | null {
  const scores = list.filter((s) => s.type.startsWith('CVSS')).map((s) => scoreVector(s.score));
  for (const version of [3, 4, 2]) {
    const hit = scores.find((s) => s?.version === version);
    if (hit) return hit;
  }
  return null;
}

/** A finding's severity and its CVSS details. */
export function findingSeverity(advisory: CompactAdvisory, entry: CompactAffected): { severity: Severity; preferred_cvss: CvssDetails } {
  const all = [...entry.severity, ...advisory.severity];
  const preferred_cvss: CvssDetails = { score_v3: null, vector_v3: '', score_v2: null, vector_v2: '' };
  for (const s of all) {
    if (!s.type.startsWith('CVSS')) continue;
    const c = scoreVector(s.score);
    if (c?.version === 3 && preferred_cvss.score_v3 === null) {
      preferred_cvss.score_v3 = c.score;
      preferred_cvss.vector_v3 = c.vector;
    } else if (c?.version === 2 && preferred_cvss.score_v2 === null) {
      preferred_cvss.score_v2 = c.score;
      preferred_cvss.vector_v2 = c.vector;
    }
  }
  const distro = severityFromWord(entry.severityWord) ?? wordOfType(advisory.severity, entry.ecosystem);
  if (distro) return { severity: distro, preferred_cvss };
  const cvss = bestVector(entry.severity) ?? bestVector(advisory.severity);
  if (cvss) return { severity: ratingOf(cvss), preferred_cvss };
  return { severity: severityFromWord(advisory.dbSeverity) ?? 'Unknown', preferred_cvss };
}

/** A distribution's own rating in `severity[]` (Ubuntu's records carry `{type: "Ubuntu", score: "medium"}`). */
function wordOfType(list: readonly OsvSeverity[], ecosystem: string): Severity | null {
  const distro = ecosystem.split(':')[0] ?? '';
  for (const s of list) if (s.type === distro) return severityFromWord(s.score);
  return null;
}
