import * as v from 'valibot';
import { HttpError, parseJsonObject } from '../http/body.js';

/**
 * Untrusted input (callback bodies, query strings, headers, decrypted events) is parsed once, at the
 * edge, by a valibot schema into a typed value; code further in trusts the type. These are the few
 * building blocks every edge shares. valibot rather than zod: no dependencies of
 * its own, schemas are plain composable functions, and `safeParse` returns a typed result instead of
 * throwing, so each edge answers its own 4xx (README, "Dependencies, and why each").
 */

export { v };

/** A non-empty string: the platforms send "" for "absent" as often as they leave the key out. */
export const nonEmpty = v.pipe(v.string(), v.nonEmpty());

/** A JSON object: not null, not an array (valibot's object schemas let arrays through). */
export const jsonObject = v.custom<Record<string, unknown>>((x) => typeof x === 'object' && x !== null && !Array.isArray(x));

/**
 * A field read leniently: absent, or of the wrong type or shape, it is `undefined` rather than a
 * failed parse, for the optional parts of a payload whose required parts decide whether it is used.
 */
export function maybe<const S extends v.GenericSchema>(schema: S) {
  return v.fallback(v.optional(schema), undefined);
}

/** The typed value, or undefined when the input does not match. */
export function parsed<const S extends v.GenericSchema>(schema: S, input: unknown): v.InferOutput<S> | undefined {
  const r = v.safeParse(schema, input);
  return r.success ? r.output : undefined;
}

/** The typed value, or an HttpError with the status and message the edge answers for a bad request. */
export function parsedOr4xx<const S extends v.GenericSchema>(schema: S, input: unknown, status: number, message: string): v.InferOutput<S> {
  const r = v.safeParse(schema, input);
  if (!r.success) throw new HttpError(status, message);
  return r.output;
}

/**
 * A JSON request body: 400 for broken JSON or a non-object (parseJsonObject), then the schema's own
 * `status` and `message` when the object does not match it.
 */
export function parsedBody<const S extends v.GenericSchema>(raw: Buffer, schema: S, status: number, message: string): v.InferOutput<S> {
  return parsedOr4xx(schema, parseJsonObject(raw), status, message);
}

/** JSON text (a decrypted payload) → the value, or `undefined` when it is not JSON. */
export function jsonOf(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return undefined;
  }
}
