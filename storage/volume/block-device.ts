import { RingstackError } from '../../lib/errors.ts'

/**
 * Why a block operation failed. Export protocols map each code to their wire
 * error in one table each (NBD errno in gateway/nbd, SCSI sense in
 * gateway/iscsi).
 */
export type BlockErrorCode =
  /** The range runs past the end of the device. */
  | 'OutOfRange'
  /** Offset or length not a multiple of the advertised minimum block size, or otherwise malformed. */
  | 'InvalidArgument'
  /** A write to a read-only export (a snapshot). */
  | 'ReadOnly'
  /** The device cannot do this (e.g. a FAST_ZERO it cannot do fast). */
  | 'NotSupported'
  /** Not enough replicas could take or serve the data; nothing was acknowledged. */
  | 'Io'
  /** Another writer took the volume's lease: this handle is fenced. */
  | 'Fenced'
  /** The device is closing; the request was not started. */
  | 'ShuttingDown'

export class BlockError extends RingstackError<BlockErrorCode> {}

/** A run of the device with one allocation state (NBD base:allocation). */
export interface BlockExtent {
  length: number
  /** No storage behind it (reads come from a parent or as zeroes). */
  hole: boolean
  /** Known to read as zeroes. */
  zero: boolean
}

export interface BlockSizes {
  /** Every request's offset and length must be a multiple of this. */
  minimum: number
  preferred: number
  /** Largest READ/WRITE payload accepted. */
  maximum: number
}

export interface WriteOptions {
  /** Force unit access: durable on every replica before the promise resolves. */
  fua: boolean
}

export interface ZeroOptions extends WriteOptions {
  /** The range may be deallocated (NBD: NO_HOLE not set). */
  mayTrim: boolean
  /** Fail with NotSupported rather than zeroing slowly (NBD FAST_ZERO). */
  fastOnly: boolean
}

/**
 * An open block device: what an export protocol (NBD, iSCSI) serves. Many
 * requests may be in flight at once; each resolves independently, and the
 * implementation orders overlapping ones itself. Offsets and lengths are
 * byte counts already checked against `size`, except where noted.
 */
export interface BlockDevice {
  readonly size: number
  readonly readOnly: boolean
  readonly blockSizes: BlockSizes
  read (offset: number, length: number): Promise<Buffer>
  write (offset: number, data: Buffer, options: WriteOptions): Promise<void>
  writeZeroes (offset: number, length: number, options: ZeroOptions): Promise<void>
  /** Deallocates; the range reads as zeroes afterwards. */
  trim (offset: number, length: number, options: WriteOptions): Promise<void>
  /** Everything acknowledged so far becomes durable on every replica. */
  flush (): Promise<void>
  /** Advisory prefetch. */
  cache (offset: number, length: number): Promise<void>
  /** Allocation map of [offset, offset + length), in order, covering at least one byte. */
  extents (offset: number, length: number): Promise<BlockExtent[]>
  /** Waits for requests in flight, then releases the device (and its write lease). */
  close (): Promise<void>
}

export interface ExportInfo {
  name: string
  description: string
}

/** Why an export could not be opened; a protocol maps it to its own refusal. */
export type ExportErrorCode =
  | 'UnknownExport'
  /** Another writer holds the volume's lease. */
  | 'InUse'
  /** The client's address or credentials are not allowed this export. */
  | 'NotAllowed'
  /** Too few storage nodes answered to open it safely; try again. */
  | 'Unavailable'

export class ExportError extends RingstackError<ExportErrorCode> {}

/** Resolves export names (volumes, snapshots) to open devices. */
export interface ExportProvider {
  list (): Promise<ExportInfo[]>
  /** Describes an export without opening it for I/O (NBD_OPT_INFO). */
  describe (name: string): Promise<ExportInfo & { size: number, readOnly: boolean, blockSizes: BlockSizes }>
  open (name: string): Promise<BlockDevice>
}
