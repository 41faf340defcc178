/**
 * The Swagger 2.0 → JSON Schema converter and the answer checker of the contract test, on small
 * hand-written documents: where Swagger and JSON Schema differ (x-nullable, implicit object types,
 * refs, integer formats, date-time, file), and the header and status checks.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SwaggerContract, routeServes, toJsonSchema, type Answer } from './swagger.ts';

const doc = {
  swagger: '2.0',
  basePath: '/api/v2.0',
  responses: { '404': { description: 'nf', headers: { 'X-Request-Id': { type: 'string' } }, schema: { $ref: '#/definitions/Errors' } } },
  definitions: {
    Errors: { type: 'object', properties: { errors: { type: 'array', items: { $ref: '#/definitions/Error' } } } },
    Error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } },
    Thing: {
      type: 'object',
      required: ['id'],
      properties: {
        id: { type: 'integer', format: 'int64' },
        name: { type: 'string' },
        when: { type: 'string', format: 'date-time' },
        site: { type: 'string', format: 'uri' },
        tags: { type: 'array', items: { type: 'string' } },
        meta: { properties: { a: { type: 'string' } } },
        maybe: { $ref: '#/definitions/Error', 'x-nullable': true },
        never: { $ref: '#/definitions/Error' },
        nullableList: { type: 'array', items: { type: 'string' }, 'x-nullable': true },
        kind: { type: 'string', enum: ['a', 'b'] },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        score: { type: 'number', format: 'float' },
      },
    },
  },
  paths: {
    '/things': {
      get: {
        operationId: 'listThings',
        responses: {
          '200': { description: 'ok', headers: { 'X-Total-Count': { type: 'integer' }, Link: { type: 'string' } }, schema: { type: 'array', items: { $ref: '#/definitions/Thing' } } },
          '404': { $ref: '#/responses/404' },
        },
      },
      post: { operationId: 'createThing', responses: { '201': { description: 'c', headers: { Location: { type: 'string' } } } } },
    },
    '/things/{id}': { head: { operationId: 'headThing', responses: { '200': { description: 'ok' }, '404': { $ref: '#/responses/404' } } } },
    '/things/{id}/log': { get: { operationId: 'getLog', responses: { '200': { description: 'l', schema: { type: 'string' } } } } },
    '/things/{id}/file': { get: { operationId: 'getFile', responses: { '200': { description: 'f', schema: { type: 'file' } } } } },
  },
};

const contract = new SwaggerContract(doc);
const json = (status: number, body: unknown, headers: Record<string, string> = {}): Answer => ({ status, headers: { 'content-type': 'application/json', ...headers }, text: JSON.stringify(body) });
const pointers = (a: Answer, op = 'listThings') => contract.check(op, a).map((m) => `${m.pointer} ${m.message}`);

describe('swagger converter', () => {
  test('refs point into the registered definitions; x-nullable on a ref becomes anyOf with null', () => {
    assert.deepEqual(toJsonSchema({ $ref: '#/definitions/Error' }), { $ref: 'harbor#/definitions/Error' });
    assert.deepEqual(toJsonSchema({ $ref: '#/definitions/Error', 'x-nullable': true }), { anyOf: [{ $ref: 'harbor#/definitions/Error' }, { type: 'null' }] });
  });
  test('properties without a type make an object; items without a type make an array', () => {
    assert.equal(toJsonSchema({ properties: { a: { type: 'string' } } }).type, 'object');
    assert.equal(toJsonSchema({ items: { type: 'string' } }).type, 'array');
  });
  test('x-nullable adds null to the type and to an enum', () => {
    assert.deepEqual(toJsonSchema({ type: 'string', enum: ['x'], 'x-nullable': true }), { type: ['string', 'null'], enum: ['x', null] });
  });
  test('an object with nothing said about its members is any value (go-swagger interface{})', () => {
    assert.deepEqual(toJsonSchema({ type: 'object' }), {});
    assert.deepEqual(toJsonSchema({ type: 'object', additionalProperties: { type: 'object' } }), { type: 'object', additionalProperties: {} });
  });
  test('x-omitempty: false makes a property required (go-swagger always writes it)', () => {
    assert.deepEqual(toJsonSchema({ type: 'object', required: ['a'], properties: { a: { type: 'string' }, n: { type: 'integer', 'x-omitempty': false }, m: { type: 'integer' } } }).required, ['a', 'n']);
  });
  test('int64 stays integer, uri is not checked, file is anything', () => {
    assert.deepEqual(toJsonSchema({ type: 'integer', format: 'int64' }), { type: 'integer' });
    assert.deepEqual(toJsonSchema({ type: 'string', format: 'uri' }), { type: 'string' });
    assert.deepEqual(toJsonSchema({ type: 'file' }), {});
  });
  test('a clean list passes', () => {
    const thing = { id: 1, name: 'a', when: '2026-12-06T10:00:00.123Z', site: 'not a uri', tags: [], meta: {}, maybe: null, kind: 'a', labels: { x: 'y' }, score: 1.5, extra: true };
    assert.deepEqual(pointers(json(200, [thing], { 'x-total-count': '1' })), []);
  });
  test('each kind of mismatch is reported with its JSON pointer', () => {
    const bad = { id: '1', when: '2026-12-06 10:00:00', tags: null, meta: null, never: null, nullableList: null, kind: 'c', labels: { x: 1 }, score: 'x' };
    assert.deepEqual(pointers(json(200, [bad], { 'x-total-count': '1' })).sort(), [
      '/0/id must be integer',
      '/0/kind must be equal to one of the allowed values: ["a","b"]',
      '/0/labels/x must be string',
      '/0/meta must be object',
      '/0/never must be object',
      '/0/score must be number',
      '/0/tags must be array',
      '/0/when must match format "date-time"',
    ]);
    assert.deepEqual(pointers(json(200, [{}], { 'x-total-count': '1' })), ["/0 must have required property 'id'"]);
  });
  test('headers: X-Total-Count is required where declared, Link has Harbor’s form, Location on a 201', () => {
    assert.deepEqual(pointers(json(200, [])), ['header:X-Total-Count must be a non-negative integer, got undefined']);
    assert.deepEqual(pointers(json(200, [], { 'x-total-count': '0', link: '</api/v2.0/things?page=2>; rel="next"' })), []);
    assert.deepEqual(pointers(json(200, [], { 'x-total-count': '0', link: '</t?page=1>; rel="prev" , </t?page=3>; rel="next"' })), []);
    assert.deepEqual(pointers(json(200, [], { 'x-total-count': '0', link: 'page=2' })), ['header:Link not <url>; rel="next|prev": page=2']);
    assert.deepEqual(pointers({ status: 201, headers: {}, text: '' }, 'createThing'), ['header:Location declared but missing']);
  });
  test('an undeclared status is a mismatch; a shared response ref resolves to Errors', () => {
    assert.match(pointers(json(500, {}))[0] ?? '', /^status status 500 is not declared/);
    const rid = { 'x-request-id': 'r1' };
    assert.deepEqual(pointers(json(404, { errors: [{ code: 'NOT_FOUND', message: 'x' }] }, rid)), []);
    assert.deepEqual(pointers(json(404, { errors: [{ code: 404 }] }, rid)), ['/errors/0/code must be string']);
    assert.deepEqual(pointers(json(404, { errors: [] })), ['header:X-Request-Id declared but missing']);
  });
  test('a HEAD answer has no body to check', () => {
    assert.deepEqual(pointers({ status: 404, headers: { 'x-request-id': 'r1' }, text: '' }, 'headThing'), []);
  });
  test('a string body is the text; a file body is anything', () => {
    assert.deepEqual(pointers({ status: 200, headers: { 'content-type': 'text/plain' }, text: 'line\n' }, 'getLog'), []);
    assert.deepEqual(pointers({ status: 200, headers: { 'content-type': 'application/octet-stream' }, text: '\u0000' }, 'getFile'), []);
    // Harbor's additions declare a string and send JSON: the raw text is the string.
    assert.deepEqual(pointers(json(200, [{ id: 1 }], {}), 'getLog'), []);
  });
});

describe('routeServes', () => {
  test('parameters match parameters, literals match literals, alternatives and trailing slashes', () => {
    assert.ok(routeServes('/api/v2.0/projects/:project_name_or_id|:project_name/metadatas', '/api/v2.0/projects/{project_name_or_id}/metadatas/'));
    assert.ok(!routeServes('/api/v2.0/usergroups/:group_id', '/api/v2.0/usergroups/search'));
    assert.ok(routeServes('/api/v2.0/a/:x', '/api/v2.0/a/vulnerabilities', new Set(['vulnerabilities'])));
    assert.ok(!routeServes('/api/v2.0/users/current', '/api/v2.0/users/{user_id}'));
  });
});
