import { execFile } from 'node:child_process'
import { readSync, writeSync } from 'node:fs'
import { stat, type FileHandle } from 'node:fs/promises'
import { promisify } from 'node:util'

/**
 * Reads and writes up to this size are synchronous pread/pwrite on the
 * cached fd: against the page cache they cost about a microsecond, while a
 * trip through libuv's thread pool costs several plus two thread hand-offs
 * (which, on a busy machine, each wait for a CPU). The price is that the
 * event loop stalls while a read misses the cache; larger I/O, fsync and
 * truncation stay asynchronous.
 */
const SYNC_IO_MAX = 64 * 1024
const ZEROES = Buffer.alloc(1024 * 1024)
const execFileAsync = promisify(execFile)

/** Fills `out` from `position`; bytes past the end of the file read as zeroes. */
export async function readAt (file: FileHandle, out: Buffer, position: number): Promise<void> {
  let done = 0
  while (done < out.length) {
    const bytesRead = out.length <= SYNC_IO_MAX
      ? readSync(file.fd, out, done, out.length - done, position + done)
      : (await file.read(out, done, out.length - done, position + done)).bytesRead
    if (bytesRead === 0) break
    done += bytesRead
  }
  out.fill(0, done)
}

export async function writeAt (file: FileHandle, data: Buffer, position: number): Promise<void> {
  for (let done = 0; done < data.length;) {
    done += data.length <= SYNC_IO_MAX
      ? writeSync(file.fd, data, done, data.length - done, position + done)
      : (await file.write(data, done, data.length - done, position + done)).bytesWritten
  }
}

export async function writeZeroes (file: FileHandle, position: number, length: number): Promise<void> {
  for (let done = 0; done < length; done += ZEROES.length) {
    await writeAt(file, ZEROES.subarray(0, Math.min(ZEROES.length, length - done)), position + done)
  }
}

/** Empties the file and makes it `size` bytes of zeroes, sparse. */
export async function cutToZeroes (file: FileHandle, size: number): Promise<void> {
  await file.truncate(0)
  await file.truncate(size)
}

/** syncfs(2) of the filesystem holding `path` (coreutils sync -f). */
export async function syncFilesystem (path: string): Promise<void> {
  await execFileAsync('sync', ['--file-system', path])
}

export async function exists (path: string): Promise<boolean> {
  return await stat(path).then(() => true, (err: unknown) => {
    if (isErrno(err, 'ENOENT')) return false
    throw err
  })
}

export function isErrno (err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code
}
