/**
 * Reading the files `sitesync validate` checks: bounded in size (standard input too), text only,
 * and every failure a sentence rather than an exception.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** The largest file `sitesync validate` reads: manifests are far smaller (an object is ≤ 3 MiB). */
export const MAX_INPUT_BYTES = 8 * 1024 * 1024;

export type Input = { ok: true; text: string } | { ok: false; message: string };

const MIB = 1024 * 1024;

const REASONS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'is a directory, not a file',
  ENOTDIR: 'a part of the path is not a directory',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'the path is too long',
  EMFILE: 'too many open files',
};

/** A read failure as a sentence: the errno's meaning, else the error's own first line. */
export function readFailure(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  const known = typeof code === 'string' ? REASONS[code] : undefined;
  if (known !== undefined) return `cannot read: ${known}`;
  const text = e instanceof Error ? e.message : String(e);
  return `cannot read: ${text.split('\n')[0] ?? text}`;
}

const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/** Reads at most `limit + 1` bytes from an open descriptor (a file, a pipe or a terminal). */
function readAtMost(fd: number, limit: number): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafe(Math.min(64 * 1024, limit + 1 - total));
    let n: number;
    try {
      n = readSync(fd, chunk, 0, chunk.length, null);
    } catch (e: unknown) {
      // A non-blocking standard input that has nothing yet: wait a little for it.
      if ((e as { code?: unknown }).code === 'EAGAIN') {
        Atomics.wait(PAUSE, 0, 0, 20);
        continue;
      }
      throw e;
    }
    if (n === 0) break;
    chunks.push(chunk.subarray(0, n));
    total += n;
    if (total > limit) break;
  }
  return Buffer.concat(chunks, total);
}

/** The bytes of `path` (`-`: standard input), refusing directories and anything over `limit`. */
export function readBytes(path: string, limit = MAX_INPUT_BYTES): Buffer | string {
  let fd: number;
  try {
    fd = path === '-' ? 0 : openSync(path, 'r');
  } catch (e: unknown) {
    return readFailure(e);
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) return 'cannot read: is a directory, not a file';
    if (stat.isFile() && stat.size > limit) return tooLarge(limit);
    const bytes = readAtMost(fd, limit);
    return bytes.length > limit ? tooLarge(limit) : bytes;
  } catch (e: unknown) {
    return readFailure(e);
  } finally {
    if (fd !== 0) closeSync(fd);
  }
}

const tooLarge = (limit: number) =>
  `the file is larger than ${limit / MIB} MiB, more than any manifest of these kinds can be`;

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The bytes as text: UTF-8 without NUL bytes (a leading byte-order mark is dropped). */
export function decodeText(bytes: Uint8Array): Input {
  if (bytes.includes(0)) {
    return { ok: false, message: 'not a text file: it holds NUL bytes (binary content?)' };
  }
  try {
    return { ok: true, text: UTF8.decode(bytes).replace(/^\uFEFF/, '') };
  } catch {
    return { ok: false, message: 'not a text file: it is not valid UTF-8' };
  }
}

/** `readBytes` then `decodeText`. */
export function readInput(path: string, limit = MAX_INPUT_BYTES): Input {
  const bytes = readBytes(path, limit);
  return typeof bytes === 'string' ? { ok: false, message: bytes } : decodeText(bytes);
}
