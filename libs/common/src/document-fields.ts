import 'reflect-metadata';
import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptions } from '@nestjs/swagger';
import { plainToInstance } from 'class-transformer';
import { ValidateBy, ValidationError, ValidatorOptions, validateSync } from 'class-validator';
import { FieldError, ValidationFailedError } from './broker-error';
import { ArrayRules, FieldValidator, isPlainObject, NumberRules, StringRules } from './field-validator';

/**
 * Request documents are declared once, as classes whose properties carry one of the decorators below: each
 * decorator gives class-validator the field's rule (through FieldValidator, so reasons read as they always
 * have) and @nestjs/swagger its schema. The ValidationPipe's exception factory turns the result into the
 * `errors[]` of a VALIDATION_FAILED body with `toFieldErrors`.
 */

/** The class-validator constraint every field decorator registers; its message carries FieldError[] as JSON. */
export const FIELD_CONSTRAINT = 'documentField';

/** Options of the global ValidationPipe and of nested documents: unknown fields are errors, never dropped. */
export const DOCUMENT_VALIDATOR_OPTIONS: ValidatorOptions = {
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: true,
  // The target is kept: errors are put back in declaration order from it (see toFieldErrors).
  validationError: { target: true, value: false },
};

export interface FieldOptions {
  /** Absent or null is an error ("is required"). */
  required?: boolean;
  /** null is accepted (it clears the field); otherwise null is checked like any other value. */
  nullable?: boolean;
  /** The reason given for null when the field is neither required nor nullable (e.g. PATCH of a required field). */
  nullReason?: string;
  /** Schema details the rule does not imply: description, example, default. */
  api?: ApiPropertyOptions;
}

/** Records the problems of one present, non-null value under paths relative to the field ('' is the field). */
export type FieldCheck = (v: FieldValidator, value: unknown) => void;

function joinPath(prefix: string, rel: string): string {
  if (rel === '') return prefix;
  if (prefix === '' || rel.startsWith('[')) return `${prefix}${rel}`;
  return `${prefix}.${rel}`;
}

function problemsOf(value: unknown, check: FieldCheck, opts: FieldOptions): FieldError[] {
  if (value === undefined) return opts.required ? [{ path: '', reason: 'is required' }] : [];
  if (value === null) {
    if (opts.required) return [{ path: '', reason: 'is required' }];
    if (opts.nullable) return [];
    if (opts.nullReason) return [{ path: '', reason: opts.nullReason }];
  }
  const v = new FieldValidator();
  check(v, value);
  return v.errors;
}

/** A document field: its rule for validation and its schema for the OpenAPI document, declared together. */
export function Field(
  check: FieldCheck,
  schema: ApiPropertyOptions,
  opts: FieldOptions = {},
): PropertyDecorator {
  const api = {
    ...schema,
    ...opts.api,
    required: opts.required === true,
    ...(opts.nullable ? { nullable: true } : {}),
  } as ApiPropertyOptions;
  return applyDecorators(
    ValidateBy({
      name: FIELD_CONSTRAINT,
      validator: {
        validate: (value) => problemsOf(value, check, opts).length === 0,
        defaultMessage: (args) => JSON.stringify(problemsOf(args?.value, check, opts)),
      },
    }),
    ApiProperty(api),
  );
}

export const StringField = (rules: StringRules = {}, opts: FieldOptions = {}): PropertyDecorator =>
  Field((v, x) => v.string(x, '', rules), { type: String, minLength: rules.min, maxLength: rules.max }, opts);

export const IntegerField = (rules: NumberRules = {}, opts: FieldOptions = {}): PropertyDecorator =>
  Field(
    (v, x) => v.integer(x, '', rules),
    { type: 'integer', ...rangeSchema(rules) } as ApiPropertyOptions,
    opts,
  );

export const NumberField = (rules: NumberRules = {}, opts: FieldOptions = {}): PropertyDecorator =>
  Field(
    (v, x) => v.number(x, '', rules),
    { type: Number, ...rangeSchema(rules) } as ApiPropertyOptions,
    opts,
  );

export const BooleanField = (opts: FieldOptions = {}): PropertyDecorator =>
  Field((v, x) => v.boolean(x, ''), { type: Boolean }, opts);

export const EnumField = (values: readonly string[], opts: FieldOptions = {}): PropertyDecorator =>
  Field((v, x) => v.oneOf(x, '', values), { enum: [...values] }, opts);

/** An array of strings, each read by `item` (which records its own problem and returns undefined). */
export const StringArrayField = (
  item: (v: FieldValidator, x: unknown, path: string) => string | undefined,
  rules: ArrayRules,
  itemSchema: ApiPropertyOptions,
  opts: FieldOptions = {},
): PropertyDecorator =>
  Field(
    (v, x) => v.array(x, '', (i, p) => item(v, i, p), rules),
    { ...itemSchema, isArray: true, minItems: rules.min, maxItems: rules.max, uniqueItems: rules.unique },
    opts,
  );

/**
 * A nested document of class `type()`, validated with the same options (so its unknown fields are errors
 * too); `refine` adds rules across its fields, run after theirs.
 */
export function NestedField(
  type: () => new () => object,
  opts: FieldOptions = {},
  refine?: (v: FieldValidator, obj: Record<string, unknown>) => void,
): PropertyDecorator {
  return Field(
    (v, x) => {
      if (!isPlainObject(x)) {
        v.fail('', 'must be an object');
        return;
      }
      v.errors.push(...validateDocument(type(), x));
      refine?.(v, x);
    },
    // A lazy type, as @nestjs/swagger recognises it (a function named "type").
    { type: () => type() },
    opts,
  );
}

function rangeSchema(rules: NumberRules): Partial<ApiPropertyOptions> {
  return {
    minimum: rules.min,
    maximum: rules.max,
    ...(rules.exclusiveMin ? { exclusiveMinimum: true } : {}),
  } as Partial<ApiPropertyOptions>;
}

/** Validates a plain object against a document class; returns its problems, paths relative to it. */
export function validateDocument(type: new () => object, body: Record<string, unknown>): FieldError[] {
  return toFieldErrors(validateSync(plainToInstance(type, body), DOCUMENT_VALIDATOR_OPTIONS));
}

/**
 * class-validator's errors as `{ path, reason }`, in the order the document declares its fields (an
 * inherited class lists its own properties first); unknown fields come first, as they always did.
 */
export function toFieldErrors(errors: ValidationError[], prefix = ''): FieldError[] {
  const rank = (e: ValidationError): number => {
    if (e.constraints?.whitelistValidation !== undefined) return -1;
    return e.target ? Object.keys(e.target).indexOf(e.property) : 0;
  };
  const out: FieldError[] = [];
  for (const e of [...errors].sort((a, b) => rank(a) - rank(b))) {
    const path = e.property === undefined ? prefix : joinPath(prefix, e.property);
    for (const [name, message] of Object.entries(e.constraints ?? {})) {
      if (name === FIELD_CONSTRAINT) {
        for (const p of JSON.parse(message) as FieldError[]) {
          out.push({ path: joinPath(path, p.path), reason: p.reason });
        }
      } else if (name === 'whitelistValidation') {
        out.push({ path, reason: 'is not a known field' });
      } else if (name === 'unknownValue') {
        out.push({ path: prefix, reason: 'must be an object' });
      } else {
        out.push({ path, reason: message });
      }
    }
    if (e.children && e.children.length > 0) out.push(...toFieldErrors(e.children, path));
  }
  return out;
}

const OPTIONAL_BODY = Symbol('constellation:optional-body');

/** Marks a document class whose request body may be left out (or sent as null). */
export function OptionalBody(): ClassDecorator {
  return (target) => Reflect.defineMetadata(OPTIONAL_BODY, true, target);
}

export function isOptionalBody(type: unknown): boolean {
  return typeof type === 'function' && Reflect.getMetadata(OPTIONAL_BODY, type) === true;
}

/** For callers outside HTTP (the CLI): the body as `type` if it passes, else the one VALIDATION_FAILED. */
export function readDocument<T extends object>(type: new () => T, body: unknown): T {
  if (!isPlainObject(body)) throw new ValidationFailedError([{ path: '', reason: 'must be an object' }]);
  const errors = validateDocument(type, body);
  if (errors.length > 0) throw new ValidationFailedError(errors);
  return body as T;
}
