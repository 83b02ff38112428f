/**
 * System programs the stack and the tests run (hack/system-deps.sh installs them). A missing
 * one fails the test that needs it with the way to get it: no test is skipped for it.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The command that installs Debian `pkg`, as the error message names it. */
export const installHint = (pkg: string) =>
  `run 'make test' as root (hack/system-deps.sh installs it), or: sudo apt-get install -y ${pkg}`;

const executable = (path: string) => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** The path of `command` (a bare name searched on PATH, or an absolute path), or undefined. */
export function findCommand(command: string): string | undefined {
  if (command.includes('/')) return executable(command) ? command : undefined;
  return (process.env['PATH'] ?? '')
    .split(delimiter)
    .filter((d) => d !== '')
    .map((d) => join(d, command))
    .find(executable);
}

/** The path of the first of `candidates` that exists, or an error naming Debian package `pkg`. */
export function requireCommand(pkg: string, ...candidates: string[]): string {
  for (const c of candidates) {
    const path = findCommand(c);
    if (path !== undefined) return path;
  }
  throw new Error(
    `${candidates.join(' or ')} is not installed (package ${pkg}): ${installHint(pkg)}`,
  );
}
