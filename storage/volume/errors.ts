import { RingstackError } from '../../lib/errors.ts'

/** What the volume API can refuse; the HTTP API and the CLI map each code in one table. */
export type VolumeErrorCode =
  | 'NotFound'
  /** A volume or snapshot of that name already exists in the project. */
  | 'AlreadyExists'
  /** Another writer holds the volume's lease (attached, being snapshotted or flattened). */
  | 'InUse'
  /** A snapshot with clones, or a volume with snapshots. */
  | 'HasDependents'
  | 'InvalidArgument'
  /** Too few storage nodes answered; nothing changed. */
  | 'Unavailable'

export class VolumeError extends RingstackError<VolumeErrorCode> {}
