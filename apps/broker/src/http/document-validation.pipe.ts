import { ArgumentMetadata, Injectable, ValidationPipe } from '@nestjs/common';
import {
  DOCUMENT_VALIDATOR_OPTIONS,
  isOptionalBody,
  isPlainObject,
  toFieldErrors,
  ValidationFailedError,
} from '@constellation/common';

/**
 * Nest's ValidationPipe over the document classes (libs/common document-fields.ts), answering with the
 * broker's VALIDATION_FAILED body. The handler receives the body as sent: PATCH tells an absent field from a
 * null one, which a class instance would blur (every declared field is an own property of it). Parameters
 * typed `unknown` or as primitives are not touched.
 */
@Injectable()
export class DocumentValidationPipe extends ValidationPipe {
  constructor() {
    super({
      ...DOCUMENT_VALIDATOR_OPTIONS,
      transform: false,
      exceptionFactory: (errors) => new ValidationFailedError(toFieldErrors(errors)),
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && this.toValidate(metadata) && !isPlainObject(value)) {
      // ValidationPipe would validate an array item by item and turn a missing body into {}.
      if ((value === undefined || value === null) && isOptionalBody(metadata.metatype)) return undefined;
      throw new ValidationFailedError([{ path: '', reason: 'must be an object' }]);
    }
    await super.transform(value, metadata);
    // Not what super returns: with validator options set it answers classToPlain of the instance, in which
    // every declared field is present (as undefined), and PATCH would take absent fields for cleared ones.
    return value;
  }
}
