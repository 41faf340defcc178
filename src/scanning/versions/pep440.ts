/**
 * Python versions (PEP 440), `[N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]`, ordered by
 * `@renovatebot/pep440`: the epoch, the release with trailing zeros ignored (`1.0` = `1.0.0`),
 * then `devN < aN < bN < rcN < (final) < postN`, a `.devN` on a pre- or post-release sorting
 * just before it, and a local label (`+ubuntu1`) after the same public version. Alternative
 * spellings are normalised (`alpha` = `a`, `c` = `pre` = `preview` = `rc`, `rev` = `r` = `post`,
 * `1.0-1` = `1.0.post1`, separators `.`, `-`, `_`, a leading `v`, any letter case).
 *
 * Valid means the package's PEP 440 pattern matches the whole string (no surrounding blanks).
 * The package reads release numbers as JavaScript numbers: components above 2^53 lose precision.
 */
import { compare as comparePep440, valid as validPep440 } from '@renovatebot/pep440';
import { MAX_VERSION_LENGTH, sign, type VersionOrder } from './order.ts';

export const pep440: VersionOrder = {
  valid: (v) => v.length > 0 && v.length <= MAX_VERSION_LENGTH && validPep440(v) !== null,
  compare: (a, b) => sign(comparePep440(a, b)),
};
