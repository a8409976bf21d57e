import { z } from 'zod';

// Building blocks of the OpenAPI 3.1 document. Each context describes its own endpoints as a part (paths and the
// components they use); src/main/openapi.ts assembles the parts into the one document. Schemas come from zod
// wherever the code has a zod schema: request schemas from their input side, response schemas from their output
// side, all response schemas converted together so that one referring to another becomes a $ref.

/** T with every property and array read-only, at every depth. */
export type DeepReadonly<T> = T extends readonly (infer U)[] ? readonly DeepReadonly<U>[] : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

/** The body an answer documented by the zod schema S carries (read-only: handlers only build and send it). */
export type Answer<S extends z.ZodType> = DeepReadonly<z.output<S>>;

/** A JSON value of the document. */
export type Json = Record<string, unknown>;

/** Which listener serves a path: `public` (PORT, the marketplace) or `internal` (INTERNAL_PORT, operators). */
export type Listener = 'public' | 'internal';

/** The listener of a path item, as the document states it (`x-listener`). */
export const LISTENER_KEY = 'x-listener';

/** One context's share of the document. */
export interface OpenApiPart {
  readonly tags?: readonly Json[];
  /** Path items by path; each states its listener (see `pathItem`). */
  readonly paths: Readonly<Record<string, Json>>;
  /** Component schemas written as JSON Schema (request schemas from zod input sides, hand-written ones). */
  readonly schemas?: Readonly<Record<string, Json>>;
  /** Component schemas as zod response schemas, converted from their output side. */
  readonly responseSchemas?: Readonly<Record<string, z.ZodType>>;
  readonly responses?: Readonly<Record<string, Json>>;
  readonly headers?: Readonly<Record<string, Json>>;
  readonly securitySchemes?: Readonly<Record<string, Json>>;
}

/** A `$ref` to a component schema. */
export const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
/** A `$ref` to a component response. */
export const responseRef = (name: string): Json => ({ $ref: `#/components/responses/${name}` });
/** An `application/json` content map. */
export const json = (schema: Json): Json => ({ 'application/json': { schema } });

/** A path item served by `listener`. */
export function pathItem(listener: Listener, operations: Json): Json {
  return { [LISTENER_KEY]: listener, ...operations };
}

const DOCUMENTED_AS = 'x-documented-as';

/**
 * `schema`, documented as `jsonSchema` instead of what zod would generate: for a query parameter that arrives as
 * text but means a number (the document then states the number's bounds, which a string pattern cannot).
 */
export function documentedAs<T extends z.ZodType>(schema: T, jsonSchema: Json): T {
  return schema.meta({ [DOCUMENTED_AS]: jsonSchema });
}

/** Replaces what zod generated for a schema marked by `documentedAs`. */
const override = (ctx: { zodSchema: unknown; jsonSchema: Record<string, unknown> }): void => {
  const documented = ctx.jsonSchema[DOCUMENTED_AS] as Json | undefined;
  if (documented === undefined) return;
  for (const key of Object.keys(ctx.jsonSchema)) delete ctx.jsonSchema[key];
  Object.assign(ctx.jsonSchema, documented);
};

/** JSON Schema of a zod schema's input or output side, without the `$schema` header. */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): Json {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12', override }) as Json;
  return rest;
}

/** JSON Schema of what a zod request schema accepts (its input side), with a description. */
export function requestSchema(schema: z.ZodType, description: string): Json {
  return { ...jsonSchemaOf(schema, 'input'), description };
}

/** A query or path parameter documented from the zod schema that validates it (its input side: a string). */
export function zodParameter(name: string, where: 'query' | 'path', schema: z.ZodType, description: string): Json {
  return { name, in: where, required: !schema.safeParse(undefined).success, description, schema: jsonSchemaOf(schema, 'input') };
}

/** The query parameters of an ops list endpoint: one per described field of the zod object that parses them. */
export function zodQueryParameters<S extends z.ZodRawShape>(params: z.ZodObject<S>, descriptions: Readonly<Partial<Record<keyof S & string, string>>>): Json[] {
  return Object.entries(descriptions).map(([name, description]) => zodParameter(name, 'query', params.shape[name] as z.ZodType, description ?? ''));
}

/**
 * Converts named zod response schemas (output side) into component schemas, all at once: a schema that contains
 * another named one refers to it with `$ref` instead of repeating it.
 */
export function responseComponents(schemas: Readonly<Record<string, z.ZodType>>): Record<string, Json> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id });
  const converted = z.toJSONSchema(registry, {
    io: 'output',
    unrepresentable: 'any',
    target: 'draft-2020-12',
    uri: (id) => `#/components/schemas/${id}`,
    override,
  }) as { schemas: Record<string, Json> };
  const out: Record<string, Json> = {};
  for (const [id, schema] of Object.entries(converted.schemas)) {
    // The document is one resource: no per-schema $schema or $id.
    const { $schema: _s, $id: _i, ...rest } = schema;
    out[id] = rest;
  }
  return out;
}

/** Merges parts into `paths` and `components`, refusing a path or component name defined twice. */
export function mergeParts(parts: readonly OpenApiPart[]): { tags: Json[]; paths: Record<string, Json>; components: Record<string, Record<string, Json>> } {
  const paths: Record<string, Json> = {};
  const components = { schemas: {}, responses: {}, headers: {}, securitySchemes: {} } as Record<'schemas' | 'responses' | 'headers' | 'securitySchemes', Record<string, Json>>;
  const tags: Json[] = [];
  const put = (into: Record<string, Json>, what: string, entries: Readonly<Record<string, Json>> | undefined) => {
    for (const [name, value] of Object.entries(entries ?? {})) {
      if (name in into) throw new Error(`OpenAPI: ${what} ${name} is defined twice`);
      into[name] = value;
    }
  };
  const zodSchemas: Record<string, z.ZodType> = {};
  for (const part of parts) {
    tags.push(...(part.tags ?? []));
    put(paths, 'path', part.paths);
    put(components.schemas, 'schema', part.schemas);
    put(components.responses, 'response', part.responses);
    put(components.headers, 'header', part.headers);
    put(components.securitySchemes, 'security scheme', part.securitySchemes);
    for (const [name, schema] of Object.entries(part.responseSchemas ?? {})) {
      if (name in zodSchemas) throw new Error(`OpenAPI: schema ${name} is defined twice`);
      zodSchemas[name] = schema;
    }
  }
  put(components.schemas, 'schema', responseComponents(zodSchemas));
  return { tags, paths, components };
}
