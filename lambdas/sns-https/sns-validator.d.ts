/** Types for sns-validator 0.3.5 (the package ships none): only what verify.ts uses. */
declare module 'sns-validator' {
  class MessageValidator {
    /** `hostPattern` is matched against the SigningCertURL's host, port included. */
    constructor(hostPattern?: RegExp, encoding?: string);
    /** Mutates `message` (Lambda key names, a null Subject): pass a copy. */
    validate(message: Record<string, unknown> | string, callback: (error: Error | null, message?: Record<string, unknown>) => void): void;
  }
  export = MessageValidator;
}
