export * from './error-code';
export * from './broker-error';
export * from './http-status';
export * from './ids';
export * from './public.decorator';
export * from './field-validator';
export * from './country-codes';
export * from './text';
