/**
 * Assertions on /api/v2.0 answers read with fetch: a success with its parsed body, and Harbor's
 * error body `{"errors":[{"code","message"}]}`.
 */
import assert from 'node:assert/strict';

/** Asserts the status and returns the parsed body (undefined when empty); the caller names the shape it asserts on. */
export async function ok<T>(r: Response, status = 200): Promise<T> {
  const text = await r.text();
  assert.equal(r.status, status, text);
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

/** Asserts the status and Harbor's error body: exactly this one error, or its code and a message matching the pattern. */
export async function error(r: Response, status: number, code: string, message: string | RegExp): Promise<void> {
  const text = await r.text();
  assert.equal(r.status, status, text);
  if (typeof message === 'string') {
    assert.deepEqual(JSON.parse(text), { errors: [{ code, message }] });
    return;
  }
  const body = JSON.parse(text) as { errors: Array<{ code: string; message: string }> }; // Harbor's error body
  assert.equal(body.errors.length, 1, text);
  assert.equal(body.errors[0]?.code, code, text);
  assert.match(body.errors[0]?.message ?? '', message);
}
