export * from './error-code';
export * from './broker-error';
export * from './http-status';
export * from './ids';
