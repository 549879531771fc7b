import { RingstackError } from '../../lib/errors.ts'

/** What the image service can refuse; the Glance API and the CLI map each code in one table. */
export type ImageErrorCode =
  | 'NotFound'
  | 'InvalidArgument'
  /** Not this project's to change (another project's public image, a read-only attribute, a protected image). */
  | 'Forbidden'
  /** The image is not in a state that allows this (an upload to an image that is not queued). */
  | 'Conflict'
  /** Volumes or snapshots still read the image's bytes. */
  | 'InUse'
  /** The uploaded bytes are not what was declared, or are a corrupt or unacceptable image. */
  | 'BadData'
  | 'TooLarge'
  /** Too few storage nodes answered; try again. */
  | 'Unavailable'

export class ImageError extends RingstackError<ImageErrorCode> {}
