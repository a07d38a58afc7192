import { FieldError, ValidationFailedError } from './broker-error';
import { textProblem } from './text';

export interface StringRules {
  /** Shortest accepted length, after trimming nothing (callers decide about whitespace). */
  min?: number;
  max?: number;
  pattern?: RegExp;
  /** The reason given when `pattern` does not match, e.g. "must be lowercase letters, digits and -". */
  patternReason?: string;
  /** Whitespace only counts as empty ("must not be empty"). */
  notBlank?: boolean;
}

export interface NumberRules {
  min?: number;
  max?: number;
  /** Reject `min` itself (for "must be greater than 0"). */
  exclusiveMin?: boolean;
}

export interface ArrayRules {
  min?: number;
  max?: number;
  /** Reject repeated items (compared with ===). */
  unique?: boolean;
}

export interface FieldValidatorOptions {
  /** Say what was found instead of the expected type ("must be a string, not number 42"): the TES wording. */
  sayFound?: boolean;
}

/** A JSON value in a few words, for reasons that say what was found. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)?.slice(0, 40)}`;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeRange(rules: NumberRules, integer: boolean): string {
  const noun = integer ? 'an integer' : 'a number';
  if (rules.min !== undefined && rules.max !== undefined) {
    return rules.exclusiveMin
      ? `must be ${noun} greater than ${rules.min} and at most ${rules.max}`
      : `must be ${noun} from ${rules.min} to ${rules.max}`;
  }
  if (rules.min !== undefined) {
    return rules.exclusiveMin
      ? `must be ${noun} greater than ${rules.min}`
      : `must be ${noun} of at least ${rules.min}`;
  }
  if (rules.max !== undefined) return `must be ${noun} of at most ${rules.max}`;
  return `must be ${noun}`;
}

/**
 * Collects every problem of a JSON document with its path (`capacity.per_task.cores`, `runtimes[1]`) so one
 * 400 names them all, instead of the first. Each reader returns the typed value, or undefined after recording
 * why not; callers decide what is required. The registry and auth documents use it through their DTOs'
 * field decorators (document-fields.ts); the TES task validator directly.
 */
export class FieldValidator {
  readonly errors: FieldError[] = [];

  constructor(private readonly options: FieldValidatorOptions = {}) {}

  fail(path: string, reason: string): undefined {
    this.errors.push({ path, reason });
    return undefined;
  }

  /** Throws the one 400 (VALIDATION_FAILED) if anything was recorded. */
  throwIfInvalid(message?: string): void {
    if (this.errors.length > 0) throw new ValidationFailedError(this.errors, message);
  }

  string(value: unknown, path: string, rules: StringRules = {}): string | undefined {
    if (typeof value !== 'string') return this.wrongType(path, 'must be a string', value);
    const problem = textProblem(value);
    if (problem) return this.fail(path, problem);
    if (rules.notBlank && value.trim() === '') return this.fail(path, 'must not be empty');
    if (rules.min !== undefined && value.length < rules.min) {
      return this.fail(
        path,
        rules.min === 1 ? 'must not be empty' : `must be at least ${rules.min} characters`,
      );
    }
    if (rules.max !== undefined && value.length > rules.max) {
      return this.fail(path, `must be at most ${rules.max} characters`);
    }
    if (rules.pattern && !rules.pattern.test(value)) {
      return this.fail(path, rules.patternReason ?? `must match ${rules.pattern.source}`);
    }
    return value;
  }

  integer(value: unknown, path: string, rules: NumberRules = {}): number | undefined {
    if (typeof value !== 'number' || !Number.isInteger(value))
      return this.fail(path, describeRange(rules, true));
    return this.inRange(value, path, rules, true);
  }

  number(value: unknown, path: string, rules: NumberRules = {}): number | undefined {
    if (typeof value !== 'number' || !Number.isFinite(value))
      return this.fail(path, describeRange(rules, false));
    return this.inRange(value, path, rules, false);
  }

  boolean(value: unknown, path: string): boolean | undefined {
    if (typeof value !== 'boolean') return this.wrongType(path, 'must be true or false', value);
    return value;
  }

  oneOf<T extends string>(value: unknown, path: string, allowed: readonly T[]): T | undefined {
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      return this.fail(path, `must be one of ${allowed.join(', ')}`);
    }
    return value as T;
  }

  /** An array whose items each pass `item`; returns undefined if the array or any item is invalid. */
  array<T>(
    value: unknown,
    path: string,
    item: (v: unknown, itemPath: string) => T | undefined,
    rules: ArrayRules = {},
  ): T[] | undefined {
    if (!Array.isArray(value)) return this.wrongType(path, 'must be an array', value);
    if (rules.min !== undefined && value.length < rules.min) {
      return this.fail(path, rules.min === 1 ? 'must not be empty' : `must have at least ${rules.min} items`);
    }
    if (rules.max !== undefined && value.length > rules.max) {
      return this.fail(path, `must have at most ${rules.max} items`);
    }
    const before = this.errors.length;
    const out: T[] = [];
    value.forEach((v, i) => {
      const itemPath = `${path}[${i}]`;
      const parsed = item(v, itemPath);
      if (parsed === undefined) return;
      if (rules.unique && out.includes(parsed)) {
        this.fail(itemPath, 'is listed twice');
        return;
      }
      out.push(parsed);
    });
    return this.errors.length === before ? out : undefined;
  }

  private wrongType(path: string, reason: string, found: unknown): undefined {
    return this.fail(path, this.options.sayFound ? `${reason}, not ${describeValue(found)}` : reason);
  }

  private inRange(value: number, path: string, rules: NumberRules, integer: boolean): number | undefined {
    const belowMin = rules.min !== undefined && (rules.exclusiveMin ? value <= rules.min : value < rules.min);
    const aboveMax = rules.max !== undefined && value > rules.max;
    if (belowMin || aboveMax) return this.fail(path, describeRange(rules, integer));
    return value;
  }
}
