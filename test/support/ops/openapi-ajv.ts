import { createRequire } from 'node:module';
import type { ValidateFunction } from 'ajv';

// Ajv (JSON Schema 2020-12, strict) over an OpenAPI 3.1 document: the component schemas become one schema
// resource, every `#/components/schemas/X` an absolute ref into it, so any schema in the document (component,
// inline parameter or response) compiles on its own and a typo in a schema fails loudly.

const require = createRequire(import.meta.url);
// ajv and ajv-formats are CommonJS with a default export; ESM sees it under `.default`.
const Ajv2020 = require('ajv/dist/2020').default as typeof import('ajv/dist/2020.js').default;
const addFormats = require('ajv-formats').default as typeof import('ajv-formats').default;

/** The base URI the component schemas are registered under. */
export const COMPONENTS_ID = 'urn:koogallery:openapi:components';

type Json = Record<string, any>;

/** A deep copy of `value` with every `#/components/schemas/X` ref made absolute (COMPONENTS_ID#/$defs/X). */
export function absoluteRefs<T>(value: T): T {
  return JSON.parse(JSON.stringify(value).replaceAll('"#/components/schemas/', `"${COMPONENTS_ID}#/$defs/`)) as T;
}

/** An Ajv instance with the document's component schemas registered. Throws when a component schema is invalid. */
export function openApiAjv(doc: Json) {
  const ajv = new Ajv2020({ strict: true, allErrors: true, discriminator: true, allowUnionTypes: true });
  addFormats(ajv);
  const components = (doc['components'] as Json | undefined)?.['schemas'] as Json | undefined;
  ajv.addSchema(absoluteRefs({ $id: COMPONENTS_ID, $defs: components ?? {} }));
  // Compile every component now, so one broken schema is reported even if no test uses it.
  for (const name of Object.keys(components ?? {})) ajv.getSchema(`${COMPONENTS_ID}#/$defs/${name}`);
  const cache = new Map<string, ValidateFunction>();
  return {
    ajv,
    /** A validator for any schema taken from the document. */
    validator(schema: unknown): ValidateFunction {
      const key = JSON.stringify(schema);
      let v = cache.get(key);
      if (!v) {
        v = ajv.compile(absoluteRefs(schema as Json));
        cache.set(key, v);
      }
      return v;
    },
  };
}

/** Resolves a local `$ref` (`#/a/b`) in the document, following chains; other values come back as they are. */
export function deref(doc: Json, value: unknown): Json {
  let v = value as Json;
  for (let i = 0; i < 10 && typeof v?.['$ref'] === 'string'; i++) {
    const ref = v['$ref'] as string;
    if (!ref.startsWith('#/')) throw new Error(`non-local $ref ${ref}`);
    let target: unknown = doc;
    for (const part of ref.slice(2).split('/')) {
      target = (target as Json | undefined)?.[part.replaceAll('~1', '/').replaceAll('~0', '~')];
    }
    if (target === undefined) throw new Error(`unresolvable $ref ${ref}`);
    v = target as Json;
  }
  return v;
}

/** Every `$ref` string anywhere in `value`. */
export function allRefs(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) allRefs(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else allRefs(v, out);
    }
  }
  return out;
}
