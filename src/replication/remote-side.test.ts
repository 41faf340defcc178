/** Unit tests of the remote side's pure parts: reading the `rel="next"` page of a Link header. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nextLink } from './remote-side.ts';

describe('nextLink', () => {
  it('finds the next page among the relations', () => {
    assert.equal(nextLink('</v2/r/tags/list?last=b&n=2>; rel="next"'), '/v2/r/tags/list?last=b&n=2');
    assert.equal(nextLink('<https://x/v2/_catalog?last=a>; rel="prev", <https://x/v2/_catalog?last=z>; rel=next'), 'https://x/v2/_catalog?last=z');
  });
  it('answers undefined without a next page', () => {
    assert.equal(nextLink(undefined), undefined);
    assert.equal(nextLink(''), undefined);
    assert.equal(nextLink('</v2/_catalog?last=a>; rel="prev"'), undefined);
    assert.equal(nextLink('garbage'), undefined);
  });
});
