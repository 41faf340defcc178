import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkUsername, confusableKeys, mixedScripts, scriptsOf } from './user-names.ts';
import { isDomainError } from '../domain/index.ts';

function refused(name: string, pattern: RegExp): void {
  assert.throws(
    () => checkUsername(name),
    (e) => isDomainError(e, 'BAD_REQUEST') && pattern.test(e.message),
    `${JSON.stringify(name)} should be refused with ${pattern}`,
  );
}

function conflict(a: string, b: string): boolean {
  const keys = new Set(confusableKeys(a));
  return confusableKeys(b).some((k) => keys.has(k));
}

test('ASCII names and single-script non-ASCII names are accepted as they are', () => {
  for (const name of ['admin', 'alice.smith-2@corp', 'Bob_3', 'иван', 'müller', 'δημήτρης', '山田たろう', '김철수', 'محمد']) {
    assert.equal(checkUsername(name), name);
  }
});

test('Harbor’s characters, blanks and lengths are refused as before', () => {
  refused('', /required/);
  refused('a'.repeat(256), /too long/);
  for (const name of ['a,b', 'a~b', 'a#b', 'a$b', 'a%b', 'a b', 'a"b', 'a:b', 'a/b', 'a\\b']) refused(name, /may not contain/);
});

test('invisible, control and unassigned characters are refused, naming the code point', () => {
  refused('ad\u200bmin', /invisible.*U\+200B/);
  refused('ad\u00admin', /U\+00AD/);
  refused('admin\u0000', /U\+0000/);
  refused('a\u3000b', /U\+3000/);
  refused('a\u{E0001}b', /U\+E0001/);
});

test('a name not in NFKC is refused, naming its normal form', () => {
  refused('ａｄｍｉｎ', /not in Unicode normal form NFKC; its normal form is "admin"/);
  refused('ﬁona', /normal form is "fiona"/);
  refused('admin\u2126', /NFKC/); // OHM SIGN, whose normal form is the Greek omega
});

test('mixed-script names are refused, naming the scripts', () => {
  refused('аdmin', /mixes scripts \(Cyrillic, Latin\)/);
  refused('pаypal', /mixes scripts \(Latin, Cyrillic\)/);
  refused('Ꭺdmin', /Cherokee, Latin/);
  refused('adminα', /Latin, Greek/);
  assert.deepEqual(mixedScripts('admin'), null);
  assert.deepEqual(mixedScripts('日本語カタカナ'), null); // Han with Katakana is one (Japanese) writing system
  assert.deepEqual(mixedScripts('한국漢字'), null);
});

test('common characters go with any script; every letter, mark and digit of this engine has a script', () => {
  assert.equal(scriptsOf('1'), null);
  assert.equal(scriptsOf('-'), null);
  assert.ok(scriptsOf('\u0301')?.has('Latin')); // a combining mark: the scripts that use it (Script_Extensions)
  assert.equal(checkUsername('jose\u0301'.normalize('NFC')), 'josé');
  const letter = /^[\p{L}\p{M}\p{N}]$/u;
  const unknown: string[] = [];
  for (let cp = 0; cp < 0x110000; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const ch = String.fromCodePoint(cp);
    if (letter.test(ch) && scriptsOf(ch)?.size === 0) unknown.push(cp.toString(16));
  }
  assert.deepEqual(unknown.slice(0, 10), [], `letters in no listed script (Unicode ${process.versions.unicode})`);
});

test('confusable keys: lookalikes meet, whatever their case; different names do not', () => {
  assert.ok(conflict('admin', 'аdmin')); // Cyrillic а
  assert.ok(conflict('admin', 'ADMIN'));
  assert.ok(conflict('alice', 'AIice')); // capital I for l
  assert.ok(conflict('cop', 'сор')); // whole-script Cyrillic
  assert.ok(conflict('rn', 'm'));
  assert.ok(conflict('admin', 'ａｄｍｉｎ')); // keys are taken from the NFKC form
  assert.ok(!conflict('admin', 'admins'));
  assert.ok(!conflict('muller', 'müller'));
  assert.ok(!conflict('иван', 'ivan'));
});

test('the robot prefix and its lookalikes are refused', () => {
  refused('robot🄏x', /robot\$/); // U+1F10F, whose skeleton starts with $
});
