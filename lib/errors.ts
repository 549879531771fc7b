/**
 * Base of every domain error in ringstack. Each domain (ring, storage, ...)
 * subclasses it with its own codes (`class StorageError extends
 * RingstackError<StorageErrorCode> {}`); protocol layers map `code` to their
 * wire error (gRPC status, S3 code, NBD errno, SCSI sense) in one table each.
 */
export class RingstackError<C extends string = string> extends Error {
  readonly code: C

  constructor (code: C, message: string, options?: ErrorOptions) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
}
