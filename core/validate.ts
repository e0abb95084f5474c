// Turns a schema failure into one sentence that names the bad field and the expected form.
import { z } from 'zod';

export type Parsed<T> = { ok: true; value: T } | { ok: false; field: string; message: string };

export function parseInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
  what: string,
): Parsed<z.output<S>> {
  const result = schema.safeParse(input);
  if (result.success) return { ok: true, value: result.data };
  const issue = result.error.issues[0];
  const field = issue.path.length > 0 ? issue.path.map(String).join('.') : '(input)';
  return { ok: false, field, message: `invalid ${what} input: field "${field}": ${issue.message}` };
}
