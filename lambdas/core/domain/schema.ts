/**
 * zod for request and event schemas, as its tree-shakeable build (`zod/mini`): the same parser and
 * the same issues as `zod`, at about a twentieth of the bundle (the classic build's chainable
 * methods keep all of it, some 420 KB minified, in every function that parses anything).
 * `zod/mini` leaves messages generic unless a locale is configured; the English one is configured
 * here, once, so that the messages the API quotes are zod's usual ones.
 *
 * Import it as a namespace (`import * as z from './schema'`) and use it statically, so that esbuild
 * keeps only what is used.
 */
import { config, refine } from 'zod/mini';
import { en } from 'zod/locales';

config(en());

export * from 'zod/mini';

/**
 * For every string that ends up in a mail header or a URL (a subject, a header, an attachment's
 * filename or content id, a webhook endpoint): no CR, LF or NUL, which would end a header line or
 * cut a value short further down. One check, reused by every such field.
 */
export const singleLine = () => refine<string>((value) => !/[\r\n\0]/.test(value), 'must not contain CR, LF or NUL characters');
