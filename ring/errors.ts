import { RingstackError } from '../lib/errors.ts'

/** Everything the ring library and its CLI can refuse or fail on. */
export type RingErrorCode =
  /** A ring or builder file (or builder state) that is malformed or inconsistent. */
  | 'InvalidRing'
  /** A bad parameter: part power out of range, negative weight, duplicate device, ... */
  | 'InvalidArgument'
  /** No device with that id (or it is already being removed). */
  | 'UnknownDevice'
  /** The operation needs a rebalanced ring and there is none (or it cannot be built). */
  | 'NotRebalanced'
  /** No ring or builder file where one was expected. */
  | 'RingNotFound'

export class RingError extends RingstackError<RingErrorCode> {}
