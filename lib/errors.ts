/**
 * Base of every domain error in ringstack. Each domain (ring, storage, ...)
 * subclasses it with its own codes; protocol layers map `code` to their wire
 * error (gRPC status, S3 code, NBD errno, SCSI sense) in one table each.
 */
export class RingstackError extends Error {
  readonly code: string

  constructor (code: string, message: string, options?: ErrorOptions) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
}
