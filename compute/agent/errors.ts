import { RingstackError } from '../../lib/errors.ts'

/** What the compute agent can refuse; gRPC status mapping is one table in grpc-status.ts. */
export type ComputeErrorCode =
  /** No instance with that id on this agent, or no such attachment. */
  | 'NotFound'
  /** A malformed spec: bad id, no boot disk, bad fw_cfg name, ... */
  | 'InvalidArgument'
  /** The instance's state does not allow it (attach to a stopped instance, start a running one, a volume attached twice). */
  | 'Conflict'
  /** Not enough free vCPUs or RAM on this host. */
  | 'InsufficientCapacity'
  /** QEMU could not open a disk (NBD server refused, no such export, lease held elsewhere). */
  | 'DiskUnavailable'
  /** QEMU failed to start or to do what it was asked. */
  | 'HypervisorFailed'
  /** The guest did not finish in time (an unplug it never acknowledged). */
  | 'Timeout'
  /** The agent could not be reached. */
  | 'Unavailable'
  | 'Internal'

export class ComputeError extends RingstackError<ComputeErrorCode> {}
