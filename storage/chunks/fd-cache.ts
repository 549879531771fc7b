import { constants } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'

interface Entry {
  handle: Promise<FileHandle>
  users: number
  /** Forgotten while in use: closed by the last user. */
  doomed: boolean
}

const READ_WRITE = constants.O_RDWR
const CREATE = constants.O_RDWR | constants.O_CREAT

/**
 * Open chunk files kept for reuse: a 4 KiB write then costs one pwrite, not
 * open + pwrite + close. Least recently used handles nobody is using are
 * closed past `max`. A file about to be unlinked must be forgotten first, or
 * a later create of the same path would reuse the unlinked inode.
 */
export class FdCache {
  private readonly entries = new Map<string, Entry>()
  private readonly max: number

  constructor (max = 512) {
    this.max = max
  }

  /** Runs `work` with the file open read-write; `create` makes a missing file (its directory must exist). */
  async use<T> (path: string, create: boolean, work: (handle: FileHandle) => Promise<T>): Promise<T> {
    let entry = this.entries.get(path)
    if (entry === undefined) {
      entry = { handle: open(path, create ? CREATE : READ_WRITE), users: 0, doomed: false }
      this.entries.set(path, entry)
    } else {
      // Map order is recency order.
      this.entries.delete(path)
      this.entries.set(path, entry)
    }
    entry.users++
    try {
      return await work(await entry.handle)
    } catch (err) {
      // A failed open is not cached.
      if (this.entries.get(path) === entry && await failed(entry.handle)) this.entries.delete(path)
      throw err
    } finally {
      entry.users--
      if (entry.users === 0 && entry.doomed) closeQuietly(entry.handle)
      this.evict()
    }
  }

  /**
   * fdatasync of a file, through its cached handle if there is one. Callers
   * that do not hold the chunk's lock use this, never use(): a handle they
   * cached could name a file being unlinked, and a later create of the
   * path would then write into the unlinked one.
   */
  async datasync (path: string): Promise<void> {
    const entry = this.entries.get(path)
    if (entry !== undefined) {
      await this.use(path, false, async (handle) => await handle.datasync())
      return
    }
    const handle = await open(path, constants.O_RDONLY)
    try {
      await handle.datasync()
    } finally {
      await handle.close()
    }
  }

  /** Drops (and closes once unused) the handle of a file that is going away. */
  forget (path: string): void {
    const entry = this.entries.get(path)
    if (entry === undefined) return
    this.entries.delete(path)
    if (entry.users === 0) closeQuietly(entry.handle)
    else entry.doomed = true
  }

  /** Forgets every handle whose path starts with `prefix`. */
  forgetUnder (prefix: string): void {
    for (const path of [...this.entries.keys()]) if (path.startsWith(prefix)) this.forget(path)
  }

  async close (): Promise<void> {
    const handles = [...this.entries.values()].map((e) => e.handle)
    this.entries.clear()
    await Promise.all(handles.map(async (handle) => {
      try {
        await (await handle).close()
      } catch {
        // A failed open has nothing to close.
      }
    }))
  }

  private evict (): void {
    if (this.entries.size <= this.max) return
    for (const [path, entry] of this.entries) {
      if (this.entries.size <= this.max) return
      if (entry.users > 0) continue
      this.entries.delete(path)
      closeQuietly(entry.handle)
    }
  }
}

async function failed (handle: Promise<FileHandle>): Promise<boolean> {
  return await handle.then(() => false, () => true)
}

function closeQuietly (handle: Promise<FileHandle>): void {
  handle.then(async (h) => await h.close()).catch(() => {})
}
