/** Largest message a storage node accepts in one PutObject chunk. */
export const MAX_CHUNK = 1024 * 1024
/** Coalesce small input pieces (HTTP gives ~16-64 KiB) up to this before sending. */
const FLUSH_AT = 512 * 1024

/**
 * Re-cuts a body into chunks of at most MAX_CHUNK, gluing small pieces so
 * each gRPC message carries a useful amount of data.
 */
export async function * rechunk (body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Buffer> {
  let pending: Buffer[] = []
  let pendingBytes = 0
  for await (const piece of body) {
    let buf = Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength)
    while (buf.length > 0) {
      const room = MAX_CHUNK - pendingBytes
      const take = buf.subarray(0, room)
      pending.push(take)
      pendingBytes += take.length
      buf = buf.subarray(take.length)
      if (pendingBytes >= FLUSH_AT) {
        yield pending.length === 1 ? pending[0] as Buffer : Buffer.concat(pending, pendingBytes)
        pending = []
        pendingBytes = 0
      }
    }
  }
  if (pendingBytes > 0) yield pending.length === 1 ? pending[0] as Buffer : Buffer.concat(pending, pendingBytes)
}
