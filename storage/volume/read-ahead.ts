import type { ChunkVersion } from '../chunks/chunk-store.ts'
import { sameVersion } from '../chunks/chunk-version.ts'

/** Requests at least this large gain nothing from reading ahead (and parallel ones would fetch the same bytes twice). */
const SMALL_READ = 64 * 1024
const FIRST_WINDOW = 128 * 1024
const MAX_WINDOW = 1024 * 1024

interface Window {
  layer: string
  index: number
  version: ChunkVersion
  /** Offset of `data` within the chunk. */
  offset: number
  data: Buffer
}

/**
 * Read-ahead for a stream of small sequential reads, as a boot loader's
 * int13 reads are (hundreds of 512 B-64 KiB reads at depth 1, each
 * otherwise a round trip to a node): once reads follow each other, a miss
 * fetches a window beyond the request (growing to 1 MiB, never past the
 * chunk) and the next reads are served from it. The window is tied to the
 * chunk version it was read at, so a write to the chunk (a new version)
 * makes it miss: no invalidation to forget.
 */
export class ReadAhead {
  private nextOffset = -1
  private size = FIRST_WINDOW
  private window: Window | undefined

  /** Notes a read of the device; true when it continues the previous one and is small. */
  sequential (offset: number, length: number): boolean {
    const follows = offset === this.nextOffset
    this.nextOffset = offset + length
    if (!follows) this.size = FIRST_WINDOW
    return follows && length < SMALL_READ
  }

  /** The requested bytes from the window, when it covers them at this version. */
  lookup (layer: string, index: number, version: ChunkVersion, offset: number, length: number): Buffer | undefined {
    const w = this.window
    if (w === undefined || w.layer !== layer || w.index !== index || !sameVersion(w.version, version)) return undefined
    if (offset < w.offset || offset + length > w.offset + w.data.length) return undefined
    return w.data.subarray(offset - w.offset, offset - w.offset + length)
  }

  /** How many bytes to fetch for a sequential miss of `length` at `offset` of a chunk of `chunkSize`. */
  span (offset: number, length: number, chunkSize: number): number {
    const span = Math.min(chunkSize - offset, Math.max(length, this.size))
    this.size = Math.min(MAX_WINDOW, this.size * 2)
    return span
  }

  keep (window: Window): void {
    this.window = window
  }
}
