import { StorageError, type StorageErrorCode } from '../errors.ts'
import type { ChunkState } from './chunk-store.ts'

/**
 * A refusal that says what the replica holds: StaleChunk (so the writer can
 * repair it), Conflict and VersionMismatch. `stored` is null when the
 * replica holds nothing for the chunk.
 */
export class ChunkStateError extends StorageError {
  readonly stored: ChunkState | null

  constructor (code: StorageErrorCode, message: string, stored: ChunkState | null, options?: ErrorOptions) {
    super(code, message, options)
    this.stored = stored
  }
}

/** What a refusal said the replica holds: undefined when it did not say. */
export function storedOf (err: unknown): ChunkState | null | undefined {
  return err instanceof ChunkStateError ? err.stored : undefined
}
