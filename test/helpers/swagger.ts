/**
 * Harbor's swagger (Swagger 2.0) as a response checker for the contract test: its operations
 * (method, full path, operationId, declared responses) and each response's schema converted to JSON
 * Schema for ajv. Swagger 2.0 is not JSON Schema; the differences that matter for responses:
 *
 * - `$ref: '#/definitions/X'` points into the document's `definitions` (converted once and
 *   registered under the id `harbor`), and a response may itself be `$ref: '#/responses/401'`.
 * - `x-nullable: true` (go-swagger's extension) is the only way to allow `null`; anything else
 *   declared as an object or array must not be `null`. A schema with `properties` or `items` but no
 *   `type` is still an object or an array.
 * - `integer` with format int32/int64 (or int, int8, uint64) is a JSON integer; `number` with
 *   float/float64 is any number.
 * - `format: date-time` is an RFC 3339 string (go-swagger's strfmt.DateTime); other string formats
 *   (`uri`, `password`) are not checked, as Harbor's server does not check them on output either.
 * - `type: file` is a download: any body. A `type: string` body is the raw text (Harbor's additions
 *   declare a string and write the stored JSON document as it is).
 * - `type: object` with neither `properties` nor `additionalProperties` is go-swagger's
 *   `interface{}`: any value (ExtraAttrs' values, a retention rule's params).
 * - A property marked `x-omitempty: false` is always written by Harbor (its zero value too), so an
 *   answer must have it: it is added to `required`.
 * - `additionalProperties` is kept (a boolean or a schema); where it is absent, extra properties
 *   are allowed, as in Swagger.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';

/** A JSON Schema document (draft-07 keywords only). */
export type JsonSchema = { [key: string]: unknown };

/** A Swagger 2.0 schema object, as parsed from YAML. */
type SwaggerSchema = { [key: string]: unknown };

/** The prefix the converted definitions are reachable under. */
const definitionsId = 'harbor';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Converts one Swagger 2.0 schema to JSON Schema. `#/definitions/X` becomes
 * `${refBase}#/definitions/X` (the converted definitions are registered as one schema of that id).
 */
export function toJsonSchema(s: SwaggerSchema, refBase = definitionsId): JsonSchema {
  const nullable = s['x-nullable'] === true;
  if (typeof s.$ref === 'string') {
    const m = /^#\/definitions\/(.+)$/.exec(s.$ref);
    if (!m) throw new Error(`unsupported $ref ${s.$ref}`);
    const target: JsonSchema = { $ref: `${refBase}#/definitions/${m[1]}` };
    return nullable ? { anyOf: [target, { type: 'null' }] } : target;
  }
  if (s.type === 'file') return {};
  // go-swagger's interface{}: an object with nothing said about its members (ExtraAttrs' values,
  // a retention rule's params) holds any JSON value; Harbor sends strings and numbers there.
  if (s.type === 'object' && s.properties === undefined && s.additionalProperties === undefined && s.allOf === undefined) return {};
  const out: JsonSchema = {};
  let type = typeof s.type === 'string' ? s.type : undefined;
  if (!type && (isRecord(s.properties) || s.additionalProperties !== undefined)) type = 'object';
  if (!type && isRecord(s.items)) type = 'array';
  if (type) out.type = nullable ? [type, 'null'] : type;
  if (type === 'string' && s.format === 'date-time') out.format = 'date-time';
  if (Array.isArray(s.enum)) out.enum = nullable ? [...s.enum, null] : [...s.enum];
  const required = Array.isArray(s.required) ? s.required.filter((r): r is string => typeof r === 'string') : [];
  if (isRecord(s.properties)) {
    const props: Record<string, JsonSchema> = {};
    for (const [k, v] of Object.entries(s.properties)) {
      if (!isRecord(v)) continue;
      props[k] = toJsonSchema(v, refBase);
      // go-swagger always writes a property marked `x-omitempty: false`, zero value included.
      if (v['x-omitempty'] === false && !required.includes(k)) required.push(k);
    }
    out.properties = props;
  }
  if (required.length > 0) out.required = required;
  if (isRecord(s.items)) out.items = toJsonSchema(s.items, refBase);
  if (typeof s.additionalProperties === 'boolean') out.additionalProperties = s.additionalProperties;
  else if (isRecord(s.additionalProperties)) out.additionalProperties = toJsonSchema(s.additionalProperties, refBase);
  for (const k of ['allOf', 'anyOf', 'oneOf'] as const) {
    const list = s[k];
    if (Array.isArray(list)) out[k] = list.filter(isRecord).map((x) => toJsonSchema(x, refBase));
  }
  return out;
}

/** A declared response of an operation. */
export interface SwaggerResponse {
  /** The converted body schema; undefined when the swagger declares no body. */
  schema?: JsonSchema;
  /** Declared header names, lower-cased, with their swagger type. */
  headers: Record<string, string>;
}

/** One operation of the swagger. */
export interface SwaggerOperation {
  operationId: string;
  /** Upper case. */
  method: string;
  /** Full path with the base path, e.g. `/api/v2.0/projects/{project_name_or_id}`. */
  path: string;
  /** By status code ('200', '401', ...). */
  responses: Record<string, SwaggerResponse>;
}

/** One difference between a response and the swagger. */
export interface Mismatch {
  operationId: string;
  status: number;
  /** JSON pointer into the body (`''` for the body itself), or `header:<name>`, or `status`. */
  pointer: string;
  message: string;
}

/** What an HTTP answer looked like, for {@link SwaggerContract.check}. */
export interface Answer {
  status: number;
  /** Lower-cased header names. */
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

function headerOf(a: Answer, name: string): string | undefined {
  const v = a.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/** The swagger's operations and a checker of answers against them. */
export class SwaggerContract {
  readonly operations: SwaggerOperation[] = [];
  private readonly byId = new Map<string, SwaggerOperation>();
  private readonly ajv: Ajv;
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(doc: Record<string, unknown>) {
    this.ajv = new Ajv({ allErrors: true, strict: true });
    // ajv-formats is CommonJS: under NodeNext its plugin is the default import's `default`.
    addFormatsModule.default(this.ajv, ['date-time']);
    const definitions: Record<string, JsonSchema> = {};
    for (const [name, s] of Object.entries(isRecord(doc.definitions) ? doc.definitions : {})) if (isRecord(s)) definitions[name] = toJsonSchema(s);
    this.ajv.addSchema({ $id: definitionsId, definitions });
    const shared = isRecord(doc.responses) ? doc.responses : {};
    const base = typeof doc.basePath === 'string' ? doc.basePath : '';
    for (const [path, item] of Object.entries(isRecord(doc.paths) ? doc.paths : {})) {
      if (!isRecord(item)) continue;
      for (const [method, op] of Object.entries(item)) {
        if (method === 'parameters' || !isRecord(op) || typeof op.operationId !== 'string') continue;
        const responses: Record<string, SwaggerResponse> = {};
        for (const [status, r0] of Object.entries(isRecord(op.responses) ? op.responses : {})) {
          let r = r0;
          if (isRecord(r) && typeof r.$ref === 'string') r = shared[r.$ref.replace(/^#\/responses\//, '')];
          if (!isRecord(r)) continue;
          const headers: Record<string, string> = {};
          for (const [h, hv] of Object.entries(isRecord(r.headers) ? r.headers : {})) headers[h.toLowerCase()] = isRecord(hv) && typeof hv.type === 'string' ? hv.type : 'string';
          responses[status] = { headers, ...(isRecord(r.schema) ? { schema: toJsonSchema(r.schema) } : {}) };
        }
        const o: SwaggerOperation = { operationId: op.operationId, method: method.toUpperCase(), path: base + path, responses };
        this.operations.push(o);
        this.byId.set(o.operationId, o);
      }
    }
  }

  /** Reads and parses a swagger YAML file. */
  static load(file: string): SwaggerContract {
    const doc: unknown = parse(readFileSync(file, 'utf8'));
    if (!isRecord(doc)) throw new Error(`${file}: not a swagger document`);
    return new SwaggerContract(doc);
  }

  operation(operationId: string): SwaggerOperation {
    const o = this.byId.get(operationId);
    if (!o) throw new Error(`no operation ${operationId} in the swagger`);
    return o;
  }

  /** Validates `value` against a converted schema; one mismatch per ajv error. */
  validateValue(operationId: string, status: number, schema: JsonSchema, value: unknown): Mismatch[] {
    const key = JSON.stringify(schema);
    let v = this.validators.get(key);
    if (!v) {
      v = this.ajv.compile(schema);
      this.validators.set(key, v);
    }
    if (v(value)) return [];
    return (v.errors ?? []).map((e: ErrorObject) => ({ operationId, status, pointer: e.instancePath, message: describeError(e) }));
  }

  /**
   * Checks one answer of `operationId`: its status is declared; its body matches the declared
   * schema (JSON bodies parsed, a `type: string` body taken as text); `X-Total-Count` is an integer
   * and `X-Request-Id` and `Location` (on a 2xx) are present where declared; `Link` is Harbor's
   * `<url>; rel="next|prev"` list.
   */
  check(operationId: string, a: Answer): Mismatch[] {
    const op = this.operation(operationId);
    const declared = op.responses[String(a.status)];
    const mm = (pointer: string, message: string): Mismatch => ({ operationId, status: a.status, pointer, message });
    if (!declared) return [mm('status', `status ${a.status} is not declared (declared: ${Object.keys(op.responses).join(', ')}); body: ${a.text.slice(0, 200)}`)];
    const out: Mismatch[] = [];
    // A HEAD answer has no body, whatever schema its status shares with other operations.
    if (op.method !== 'HEAD' && declared.schema && Object.keys(declared.schema).length > 0) {
      const ct = headerOf(a, 'content-type') ?? '';
      let body: unknown = a.text;
      // A `type: string` body is written raw: Harbor's additions declare a string and send the
      // stored JSON document as it is, with its own content type.
      if (declared.schema.type === 'string') body = a.text;
      else if (/json/.test(ct)) {
        try {
          body = JSON.parse(a.text);
        } catch {
          out.push(mm('', `content-type ${ct} but the body is not JSON: ${a.text.slice(0, 100)}`));
          body = undefined;
        }
      } else {
        out.push(mm('', `a JSON body is declared but the content-type is ${ct || 'missing'}: ${a.text.slice(0, 100)}`));
        body = undefined;
      }
      if (body !== undefined) out.push(...this.validateValue(operationId, a.status, declared.schema, body));
    }
    if ('x-total-count' in declared.headers) {
      const v = headerOf(a, 'x-total-count');
      if (v === undefined || !/^\d+$/.test(v)) out.push(mm('header:X-Total-Count', `must be a non-negative integer, got ${String(v)}`));
    }
    if ('x-request-id' in declared.headers && !headerOf(a, 'x-request-id')) out.push(mm('header:X-Request-Id', 'declared but missing'));
    if ('location' in declared.headers && a.status >= 200 && a.status < 300) {
      if (!headerOf(a, 'location')) out.push(mm('header:Location', 'declared but missing'));
    }
    const link = headerOf(a, 'link');
    if ('link' in declared.headers && link !== undefined) {
      // Harbor joins the links with " , " (a space before the comma).
      for (const part of link.split(/\s*,\s*(?=<)/)) if (!/^<[^>]+>; rel="(next|prev)"$/.test(part)) out.push(mm('header:Link', `not <url>; rel="next|prev": ${part}`));
    }
    return out;
  }
}

/** ajv's message with the detail that names the culprit (the allowed values, the extra property). */
function describeError(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  if (e.keyword === 'enum') return `${e.message ?? 'enum'}: ${JSON.stringify(p.allowedValues)}`;
  if (e.keyword === 'additionalProperties') return `${e.message ?? ''}: ${String(p.additionalProperty)}`;
  return e.message ?? e.keyword;
}

/**
 * Whether the route pattern `route` (Fastify's, `:a|:b` for alternatives) serves the swagger path
 * `path` (`{name}` for parameters). Segments match literally, a parameter only matches a parameter;
 * `literalParams` lists swagger literals a route parameter may serve (e.g. `vulnerabilities`, which
 * Harbor declares beside `{addition}`). A trailing slash is ignored.
 */
export function routeServes(route: string, path: string, literalParams: ReadonlySet<string> = new Set()): boolean {
  const r = route.replace(/\/+$/, '').split('/');
  const s = path.replace(/\/+$/, '').split('/');
  if (r.length !== s.length) return false;
  return r.every((seg, i) => {
    const sw = s[i] ?? '';
    const routeParam = seg.startsWith(':');
    const swParam = /^\{.+\}$/.test(sw);
    if (routeParam) return swParam || literalParams.has(sw);
    return !swParam && seg === sw;
  });
}
