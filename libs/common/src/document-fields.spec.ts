import { ValidationFailedError } from './broker-error';
import {
  BooleanField,
  EnumField,
  IntegerField,
  isOptionalBody,
  NestedField,
  NumberField,
  OptionalBody,
  readDocument,
  StringArrayField,
  StringField,
  validateDocument,
} from './document-fields';
import { FieldValidator } from './field-validator';

class Inner {
  @IntegerField({ min: 1, max: 8 }, { nullable: true })
  cores?: number | null;
}

class Patch {
  @StringField({ min: 1, max: 5 }, { nullReason: 'is required' })
  name?: string;
  @NumberField({ min: 0, max: 1 }, { nullable: true })
  share?: number | null;
  @NestedField(() => Inner, { nullable: true }, (v, obj) => {
    if (obj.cores === 3) v.fail('cores', 'must not be 3');
  })
  inner?: Inner | null;
  @StringArrayField((v, x, p) => v.oneOf(x, p, ['a', 'b']), { min: 1, unique: true }, { enum: ['a', 'b'] })
  letters?: string[];
  @BooleanField()
  flag?: boolean;
}

class Create extends Patch {
  @StringField({ min: 1, max: 5 }, { required: true })
  declare name: string;
  @EnumField(['x', 'y'], { required: true })
  kind!: string;
}

@OptionalBody()
class Optional {
  @StringField()
  reason?: string;
}

describe('document fields', () => {
  it.each([
    { name: 'valid', body: { name: 'n', share: 0.5, inner: { cores: 2 }, letters: ['a'] }, want: [] },
    { name: 'absent optional fields', body: {}, want: [] },
    { name: 'null clears a nullable field', body: { share: null, inner: null }, want: [] },
    { name: 'null on a field that cannot be cleared', body: { name: null }, want: [['name', 'is required']] },
    { name: 'null where the rule decides', body: { flag: null }, want: [['flag', 'must be true or false']] },
    {
      name: 'nested problems under the full path, unknown fields first',
      body: { inner: { cores: 9, ram: 1 } },
      want: [
        ['inner.ram', 'is not a known field'],
        ['inner.cores', 'must be an integer from 1 to 8'],
      ],
    },
    { name: 'nested refinement', body: { inner: { cores: 3 } }, want: [['inner.cores', 'must not be 3']] },
    { name: 'nested non-object', body: { inner: [1] }, want: [['inner', 'must be an object']] },
    {
      name: 'array items by index',
      body: { letters: ['a', 'c', 'a'] },
      want: [
        ['letters[1]', 'must be one of a, b'],
        ['letters[2]', 'is listed twice'],
      ],
    },
    {
      name: 'unknown top-level field first, then fields in declaration order',
      body: { flag: 'yes', share: 2, name: '', zzz: 1 },
      want: [
        ['zzz', 'is not a known field'],
        ['name', 'must not be empty'],
        ['share', 'must be a number from 0 to 1'],
        ['flag', 'must be true or false'],
      ],
    },
  ])('$name', ({ body, want }) => {
    expect(validateDocument(Patch, body).map((e) => [e.path, e.reason])).toEqual(want);
  });

  it('requires what the subclass requires, keeping the base order of fields', () => {
    expect(validateDocument(Create, { share: 5 }).map((e) => [e.path, e.reason])).toEqual([
      ['name', 'is required'],
      ['share', 'must be a number from 0 to 1'],
      ['kind', 'is required'],
    ]);
    expect(validateDocument(Patch, { share: 0 })).toEqual([]);
  });

  it('readDocument returns the body as sent, or throws one VALIDATION_FAILED', () => {
    const body = { name: 'n', kind: 'x' };
    expect(readDocument(Create, body)).toBe(body);
    expect(() => readDocument(Create, [1])).toThrow(ValidationFailedError);
    try {
      readDocument(Create, { name: 'n', kind: 'z' });
      throw new Error('accepted');
    } catch (err) {
      expect((err as ValidationFailedError).errors).toEqual([
        { path: 'kind', reason: 'must be one of x, y' },
      ]);
    }
  });

  it('marks optional bodies', () => {
    expect(isOptionalBody(Optional)).toBe(true);
    expect(isOptionalBody(Patch)).toBe(false);
  });
});

describe('FieldValidator wording', () => {
  it('says what it found when asked (the TES wording), and not otherwise', () => {
    const tes = new FieldValidator({ sayFound: true });
    tes.string(42, 'name');
    tes.boolean('yes', 'flag');
    tes.array({}, 'list', (x) => x);
    expect(tes.errors).toEqual([
      { path: 'name', reason: 'must be a string, not number 42' },
      { path: 'flag', reason: 'must be true or false, not string "yes"' },
      { path: 'list', reason: 'must be an array, not an object' },
    ]);
    const plain = new FieldValidator();
    plain.string(42, 'name');
    expect(plain.errors).toEqual([{ path: 'name', reason: 'must be a string' }]);
  });

  it('treats whitespace as empty only with notBlank', () => {
    const v = new FieldValidator();
    expect(v.string('  ', 'a', { notBlank: true })).toBeUndefined();
    expect(v.string('  ', 'b', { min: 1 })).toBe('  ');
    expect(v.errors).toEqual([{ path: 'a', reason: 'must not be empty' }]);
  });
});
