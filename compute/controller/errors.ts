import { ControlError } from '../../lib/control-store/index.ts'
import { RingstackError } from '../../lib/errors.ts'
import { VolumeError } from '../../storage/volume/index.ts'
import { ComputeError } from '../agent/errors.ts'
import { ImageError } from '../images/index.ts'

/** What the compute controller can refuse; the Nova-shaped API and the CLI map each code in one table. */
export type ServerErrorCode =
  /** No such server, flavor, hypervisor or attachment (in this project). */
  | 'NotFound'
  /** Malformed input, or a reference (image, flavor, volume) the request cannot use. */
  | 'InvalidArgument'
  /** The server's state does not allow it (stop a stopped server), or a name is taken. */
  | 'Conflict'
  /** The volume is attached to a server or held by another writer. */
  | 'InUse'
  /** No registered, reachable compute host has the flavor's vCPUs and RAM free. */
  | 'NoValidHost'
  /** Only an admin may do this (flavors, hypervisors). */
  | 'Forbidden'
  /** A compute host, or too many storage nodes, could not be reached; nothing changed. */
  | 'Unavailable'
  /** A compute host failed to do what it was asked (QEMU would not start, a guest ignored an unplug). */
  | 'HostFailed'

export class ServerError extends RingstackError<ServerErrorCode> {}

/** What a dependency's refusal means to a server request; `notFound` words a missing reference the way the request named it. */
export function serverErrorOf (err: unknown, notFound?: string): unknown {
  if (!(err instanceof RingstackError) || err instanceof ServerError) return err
  const code = CODES.find(([type]) => err instanceof type)?.[1][err.code]
  if (code === undefined) return err
  return new ServerError(code, code === 'NotFound' && notFound !== undefined ? notFound : err.message, { cause: err })
}

/** Volume, image, agent and control-store codes as server outcomes (the rest are internal errors). */
const CODES: Array<[abstract new (...args: never[]) => RingstackError, Partial<Record<string, ServerErrorCode>>]> = [
  [VolumeError, { NotFound: 'NotFound', InvalidArgument: 'InvalidArgument', AlreadyExists: 'Conflict', InUse: 'InUse', HasDependents: 'Conflict', Unavailable: 'Unavailable' }],
  [ImageError, { NotFound: 'NotFound', InvalidArgument: 'InvalidArgument', Forbidden: 'Forbidden', Unavailable: 'Unavailable' }],
  [ComputeError, {
    NotFound: 'NotFound',
    InvalidArgument: 'InvalidArgument',
    Conflict: 'Conflict',
    InsufficientCapacity: 'NoValidHost',
    // QEMU could not open the volume: in practice another writer holds its lease.
    DiskUnavailable: 'InUse',
    HypervisorFailed: 'HostFailed',
    Timeout: 'HostFailed',
    Internal: 'HostFailed',
    Unavailable: 'Unavailable'
  }],
  [ControlError, { Unavailable: 'Unavailable' }]
]
