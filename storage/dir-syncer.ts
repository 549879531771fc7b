import { open, type FileHandle } from 'node:fs/promises'

/** Open directory handles kept for reuse; a put then costs one fsync, not open + fsync + close. */
const MAX_HANDLES = 256

interface Slot {
  /** The fsync under way, if any. */
  running: Promise<void> | undefined
  /** The fsync that starts after `running`; callers arriving now share it. */
  queued: Promise<void> | undefined
}

/**
 * fsync of directories (to make renames and unlinks durable) with group
 * commit: a caller needs an fsync that starts after its own change, so every
 * caller arriving while one runs shares the single next one.
 *
 * Handles stay open (least recently used ones closed past MAX_HANDLES), so a
 * directory must not be removed and recreated while its device is open.
 */
export class DirSyncer {
  private readonly slots = new Map<string, Slot>()
  /** In least-recently-used order: Map iteration follows insertion. */
  private readonly handles = new Map<string, Promise<FileHandle>>()

  async sync (dir: string): Promise<void> {
    let slot = this.slots.get(dir)
    if (slot === undefined) {
      slot = { running: undefined, queued: undefined }
      this.slots.set(dir, slot)
    }
    slot.queued ??= this.next(dir, slot)
    await slot.queued
  }

  async close (): Promise<void> {
    await Promise.all([...this.slots.values()].map(async (slot) => await slot.queued?.catch(() => {})))
    const handles = [...this.handles.values()]
    this.handles.clear()
    await Promise.all(handles.map(async (handle) => await (await handle).close().catch(() => {})))
  }

  private async next (dir: string, slot: Slot): Promise<void> {
    await slot.running?.catch(() => {})
    slot.queued = undefined
    const run = this.fsync(dir)
    slot.running = run
    try {
      await run
    } finally {
      if (slot.running === run) slot.running = undefined
      if (slot.running === undefined && slot.queued === undefined) this.slots.delete(dir)
      this.evict()
    }
  }

  private async fsync (dir: string): Promise<void> {
    let handle = this.handles.get(dir)
    this.handles.delete(dir)
    handle ??= open(dir, 'r')
    this.handles.set(dir, handle)
    try {
      await (await handle).sync()
    } catch (err) {
      if (this.handles.get(dir) === handle) this.handles.delete(dir)
      await handle.then(async (h) => await h.close()).catch(() => {})
      throw err
    }
  }

  /** Closes the oldest handles of directories not being synced right now. */
  private evict (): void {
    for (const [dir, handle] of this.handles) {
      if (this.handles.size <= MAX_HANDLES) return
      if (this.slots.has(dir)) continue
      this.handles.delete(dir)
      handle.then(async (h) => await h.close()).catch(() => {})
    }
  }
}

export async function fsyncDir (dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}
