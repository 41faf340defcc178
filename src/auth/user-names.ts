/**
 * The user-name policy (issue 8): a name is refused unless it is what it looks like.
 *
 * 1. Harbor's rule: 1 to 255 characters, none of `, ~ # $ %` (Harbor's list), nor spaces, `"`, `:`,
 *    `/`, `\` (Wharf's additions: they break Basic credentials, paths and scope strings).
 * 2. No invisible or unassigned characters: Unicode categories C (controls, format characters such
 *    as U+200B ZERO WIDTH SPACE and U+00AD SOFT HYPHEN, surrogates, private use, unassigned) and Z
 *    (every kind of space and separator).
 * 3. Unicode NFKC: a name must already be in NFKC, so what is stored and what one logs in with is
 *    the same string. `ａｄｍｉｎ` (fullwidth) is refused, naming its normal form `admin`.
 * 4. One script (Unicode TR39 "single script"): the intersection of the Script_Extensions of every
 *    character is not empty, where Common and Inherited characters (digits, `.`, `_`, `-`, `@`,
 *    combining marks) go with any script and Han goes with Hiragana, Katakana, Hangul and Bopomofo
 *    (Japanese, Korean and Chinese writing). `аdmin` (Cyrillic а, Latin dmin) is refused.
 * 5. Confusables (TR39 skeletons, checked by the UserService against every existing user): two
 *    names conflict when their skeletons are equal ignoring case; see {@link confusableKeys}. A name
 *    whose skeleton starts with `robot$` (the robot account prefix) is refused here.
 *
 * Single-script names outside ASCII (`иван`, `müller`, `山田`) are accepted. The skeleton uses the
 * confusables mapping of the `unhomoglyph` package (TR39 confusables.txt).
 */
import unhomoglyph from 'unhomoglyph';
import { fail } from '../domain/index.ts';

/** Longest user name (Harbor's limit). */
export const maxUsernameLength = 255;

/** The robot account prefix; user names may not start with it or with anything confusable with it. */
export const robotPrefix = 'robot$';

const badNameChars = /[\s,"~#$%:/\\]/u;
const invisibleChars = /[\p{C}\p{Z}]/u;

/**
 * Every Unicode script (Script property values, Unicode 17). A script the running engine does
 * not know is skipped; a letter in none of them (a newer Unicode than this list) is refused.
 */
const scriptNames = [
  'Adlam', 'Ahom', 'Anatolian_Hieroglyphs', 'Arabic', 'Armenian', 'Avestan', 'Balinese', 'Bamum', 'Bassa_Vah', 'Batak', 'Bengali', 'Bhaiksuki',
  'Bopomofo', 'Brahmi', 'Braille', 'Buginese', 'Buhid', 'Canadian_Aboriginal', 'Carian', 'Caucasian_Albanian', 'Chakma', 'Cham', 'Cherokee',
  'Chorasmian', 'Coptic', 'Cuneiform', 'Cypriot', 'Cypro_Minoan', 'Cyrillic', 'Deseret', 'Devanagari', 'Dives_Akuru', 'Dogra', 'Duployan',
  'Egyptian_Hieroglyphs', 'Elbasan', 'Elymaic', 'Ethiopic', 'Georgian', 'Glagolitic', 'Gothic', 'Grantha', 'Greek', 'Gujarati', 'Gunjala_Gondi',
  'Gurmukhi', 'Han', 'Hangul', 'Hanifi_Rohingya', 'Hanunoo', 'Hatran', 'Hebrew', 'Hiragana', 'Imperial_Aramaic', 'Inscriptional_Pahlavi',
  'Inscriptional_Parthian', 'Javanese', 'Kaithi', 'Kannada', 'Katakana', 'Kawi', 'Kayah_Li', 'Kharoshthi', 'Khitan_Small_Script', 'Khmer', 'Khojki',
  'Khudawadi', 'Lao', 'Latin', 'Lepcha', 'Limbu', 'Linear_A', 'Linear_B', 'Lisu', 'Lycian', 'Lydian', 'Mahajani', 'Makasar', 'Malayalam', 'Mandaic',
  'Manichaean', 'Marchen', 'Masaram_Gondi', 'Medefaidrin', 'Meetei_Mayek', 'Mende_Kikakui', 'Meroitic_Cursive', 'Meroitic_Hieroglyphs', 'Miao', 'Modi',
  'Mongolian', 'Mro', 'Multani', 'Myanmar', 'Nabataean', 'Nag_Mundari', 'Nandinagari', 'New_Tai_Lue', 'Newa', 'Nko', 'Nushu', 'Nyiakeng_Puachue_Hmong',
  'Ogham', 'Ol_Chiki', 'Old_Hungarian', 'Old_Italic', 'Old_North_Arabian', 'Old_Permic', 'Old_Persian', 'Old_Sogdian', 'Old_South_Arabian', 'Old_Turkic',
  'Old_Uyghur', 'Oriya', 'Osage', 'Osmanya', 'Pahawh_Hmong', 'Palmyrene', 'Pau_Cin_Hau', 'Phags_Pa', 'Phoenician', 'Psalter_Pahlavi', 'Rejang', 'Runic',
  'Samaritan', 'Saurashtra', 'Sharada', 'Shavian', 'Siddham', 'SignWriting', 'Sinhala', 'Sogdian', 'Sora_Sompeng', 'Soyombo', 'Sundanese', 'Syloti_Nagri',
  'Syriac', 'Tagalog', 'Tagbanwa', 'Tai_Le', 'Tai_Tham', 'Tai_Viet', 'Takri', 'Tamil', 'Tangsa', 'Tangut', 'Telugu', 'Thaana', 'Thai', 'Tibetan',
  'Tifinagh', 'Tirhuta', 'Toto', 'Ugaritic', 'Vai', 'Vithkuqi', 'Wancho', 'Warang_Citi', 'Yezidi', 'Yi', 'Zanabazar_Square',
  // Unicode 16 and 17 (Node 20's ICU has 17).
  'Garay', 'Gurung_Khema', 'Kirat_Rai', 'Ol_Onal', 'Sunuwar', 'Todhri', 'Tulu_Tigalari', 'Beria_Erfe', 'Sidetic', 'Tai_Yo', 'Tolong_Siki',
];

/** Each known script with a matcher on its Script_Extensions. */
const scripts: Array<{ name: string; re: RegExp }> = scriptNames.flatMap((name) => {
  try {
    return [{ name, re: new RegExp(`^\\p{Script_Extensions=${name}}$`, 'u') }];
  } catch {
    return [];
  }
});
const anyScript = /^[\p{Script_Extensions=Common}\p{Script_Extensions=Inherited}]$/u;

/** TR39's augmentation: Han text is also Japanese, Korean and Chinese (with Bopomofo) text. */
const augment: Record<string, string[]> = {
  Han: ['Hiragana', 'Katakana', 'Hangul', 'Bopomofo'],
  Hiragana: ['Han', 'Katakana'],
  Katakana: ['Han', 'Hiragana'],
  Hangul: ['Han'],
  Bopomofo: ['Han'],
};

/** The scripts a character belongs to (augmented), or null for Common/Inherited ones (any script). */
export function scriptsOf(ch: string): Set<string> | null {
  if (anyScript.test(ch)) return null;
  const out = new Set<string>();
  for (const s of scripts) {
    if (!s.re.test(ch)) continue;
    out.add(s.name);
    for (const extra of augment[s.name] ?? []) out.add(extra);
  }
  return out;
}

function intersect(a: Set<string>, b: Set<string>): Set<string> {
  return new Set([...a].filter((x) => b.has(x)));
}

/**
 * The scripts of a name: null when it is single-script (the intersection of its characters'
 * scripts is not empty), else the first script of each character that broke the intersection, in
 * order of appearance (`["Cyrillic", "Latin"]` for `аdmin`).
 */
export function mixedScripts(name: string): string[] | null {
  let common: Set<string> | null = null;
  const seen: string[] = [];
  for (const ch of name) {
    const set = scriptsOf(ch);
    if (set === null) continue;
    const first = [...set][0] ?? `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
    if (!seen.includes(first)) seen.push(first);
    const next: Set<string> = common === null ? set : intersect(common, set);
    if (next.size === 0) return seen;
    common = next;
  }
  return null;
}

/** TR39 skeleton: NFD, each character to its confusables prototype, NFD again. */
export function skeleton(s: string): string {
  return unhomoglyph(s.normalize('NFD')).normalize('NFD');
}

/**
 * The keys under which a name is compared with others: its skeleton taken both before and after
 * lower-casing (so `AIice` with a capital I meets `alice`, and `ADMIN` meets `admin`), from its NFKC
 * form (names stored by older versions may not be in it). Two names conflict when a key is shared.
 */
export function confusableKeys(name: string): string[] {
  const n = name.normalize('NFKC');
  const a = skeleton(skeleton(n).toLowerCase());
  const b = skeleton(n.toLowerCase());
  return a === b ? [a] : [a, b];
}

function describe(ch: string): string {
  return `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Checks a new user name against rules 1 to 4 and the robot prefix (the confusable check against
 * existing users needs the database: UserService.create). Throws BAD_REQUEST saying what is wrong.
 */
export function checkUsername(v: unknown): string {
  if (typeof v !== 'string' || v.trim() === '') throw fail('BAD_REQUEST', 'username is required');
  if (v.length > maxUsernameLength) throw fail('BAD_REQUEST', `username is too long: at most ${maxUsernameLength} characters`);
  const invisible = invisibleChars.exec(v);
  if (invisible) throw fail('BAD_REQUEST', `username may not contain invisible, control or unassigned characters (found ${describe(invisible[0])})`);
  if (badNameChars.test(v)) throw fail('BAD_REQUEST', 'username may not contain spaces or any of , " ~ # $ % : / \\');
  const nfkc = v.normalize('NFKC');
  if (nfkc !== v) {
    throw fail('BAD_REQUEST', `username "${v}" is not in Unicode normal form NFKC; its normal form is "${nfkc}" (user names are compared in that form)`);
  }
  const mixed = mixedScripts(v);
  if (mixed) {
    throw fail('BAD_REQUEST', `username "${v}" mixes scripts (${mixed.join(', ')}): use letters of one script, with digits and . _ - @ as needed`);
  }
  // `$` itself is refused above, but a symbol such as U+1F10F has `$` in its skeleton.
  if (confusableKeys(v).some((k) => k.startsWith(skeleton(robotPrefix)))) {
    throw fail('BAD_REQUEST', 'user names may not start with "robot$" (the robot account prefix) or anything confusable with it');
  }
  return v;
}
