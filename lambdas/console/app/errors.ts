import { ApiError, isRefusedKey } from './api';
import { notice } from './dom';
import type { PageContext } from './router';

/** An error on a page: what the API said (never a stack); a refused key has already signed out. */
export function showError(ctx: PageContext, error: unknown): void {
  if (!ctx.current()) return;
  if (error instanceof ApiError && isRefusedKey(error.status, error.errorName)) return;
  const message = error instanceof ApiError ? `${error.message} (${error.status} ${error.errorName})` : 'Something went wrong; try again.';
  ctx.root.prepend(notice('error', message));
}
