/**
 * A file system error as a person reads it: "ENOSPC: no space left on device", without the
 * system call and the path Node appends (", write", ", open '/path'"), which the caller names.
 */
export function fileErrorText(error: unknown): string {
  return error instanceof Error ? error.message.replace(/, \w+( '.*)?$/s, '') : String(error);
}
