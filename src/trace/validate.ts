import Ajv2020, { ErrorObject, ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

import sampleSchema from '../../schema/sample.schema.json';

/** Result of checking a record against `schema/sample.schema.json`. */
export interface ISampleValidation {
  valid: boolean;
  /** One readable line per problem, e.g. `/steps/2/status: must be one of: ok, error, …`. */
  errors: string[];
}

/** The JSON Schema of `ISample`, as shipped in `schema/sample.schema.json`. */
export const SAMPLE_JSON_SCHEMA: Record<string, unknown> = sampleSchema;

let compiled: ValidateFunction | null = null;

/** Compiles the schema on first use and keeps the validator. */
function validator(): ValidateFunction {
  if (!compiled) {
    const ajv = new Ajv2020({
      allErrors: true,
      discriminator: true,
      allowUnionTypes: true,
      strict: true
    });
    addFormats(ajv);
    compiled = ajv.compile(sampleSchema);
  }
  return compiled;
}

/** Turns one ajv error into `path: message (detail)`. */
export function formatSchemaError(error: ErrorObject): string {
  const where = error.instancePath || '(root)';
  const params = error.params as Record<string, unknown>;
  let detail = '';
  switch (error.keyword) {
    case 'additionalProperties':
      detail = `: '${String(params.additionalProperty)}'`;
      break;
    case 'enum':
      detail = `: ${(params.allowedValues as unknown[]).map(String).join(', ')}`;
      break;
    case 'const':
      detail = `: ${JSON.stringify(params.allowedValue)}`;
      break;
    case 'discriminator':
      detail = params.tagValue === undefined ? '' : ` (got ${JSON.stringify(params.tagValue)})`;
      break;
  }
  return `${where}: ${error.message ?? 'is invalid'}${detail}`;
}

/** An `anyOf` summary or the `null` branch of a nullable field: noise when a more precise error exists. */
function isWrapper(error: ErrorObject): boolean {
  return error.keyword === 'anyOf' || (error.keyword === 'type' && (error.params as { type?: unknown }).type === 'null');
}

/** Drops wrapper errors that a precise error at the same place (or deeper) already explains. */
function precise(errors: ErrorObject[]): ErrorObject[] {
  const explained = (wrapper: ErrorObject): boolean =>
    errors.some(
      other =>
        !isWrapper(other) &&
        (other.instancePath === wrapper.instancePath || other.instancePath.startsWith(`${wrapper.instancePath}/`))
    );
  return errors.filter(error => !isWrapper(error) || !explained(error));
}

/**
 * Validates a record against the sample schema. The validator is compiled once per process.
 * `errors` is empty when `valid` is true.
 */
export function validateSample(sample: unknown): ISampleValidation {
  const validate = validator();
  const valid = validate(sample) as boolean;
  const errors = valid ? [] : precise(validate.errors ?? []).map(formatSchemaError);
  return { valid, errors: [...new Set(errors)] };
}
