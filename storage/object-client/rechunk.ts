import { MAX_CHUNK_BYTES } from '../proto.ts'
import { PutChunk } from '../put-chunk.ts'

/** Coalesce small input pieces (HTTP gives ~16-64 KiB) up to this before sending. */
const FLUSH_AT = 512 * 1024

/**
 * Re-cuts a body into encoded chunks of at most MAX_CHUNK_BYTES, gluing
 * small pieces so each gRPC message carries a useful amount of data. The
 * one copy made here is also the chunk's encoding.
 */
export async function * rechunk (body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<PutChunk> {
  let pending: Uint8Array[] = []
  let pendingBytes = 0
  for await (const piece of body) {
    let buf = piece
    while (buf.length > 0) {
      const take = buf.subarray(0, MAX_CHUNK_BYTES - pendingBytes)
      pending.push(take)
      pendingBytes += take.length
      buf = buf.subarray(take.length)
      if (pendingBytes >= FLUSH_AT) {
        yield PutChunk.of(pending, pendingBytes)
        pending = []
        pendingBytes = 0
      }
    }
  }
  if (pendingBytes > 0) yield PutChunk.of(pending, pendingBytes)
}
