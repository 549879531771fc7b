import type { CapacityReply, CapacityReply__Output } from '../../proto/gen/ringstack/compute/v1/CapacityReply.ts'
import type { Disk, Disk__Output } from '../../proto/gen/ringstack/compute/v1/Disk.ts'
import type { InstanceInfo as ProtoInfo, InstanceInfo__Output } from '../../proto/gen/ringstack/compute/v1/InstanceInfo.ts'
import type { InstanceSpec as ProtoSpec, InstanceSpec__Output } from '../../proto/gen/ringstack/compute/v1/InstanceSpec.ts'
import { ComputeError } from './errors.ts'
import type { Capacity, DiskSpec, InstanceInfo, InstanceSpec, InstanceState } from './types.ts'

/** Between the wire messages and the domain types, both directions, for the service and its client. */

export function diskToProto (disk: DiskSpec): Disk {
  return { host: disk.host, port: disk.port, export: disk.export, serial: disk.serial, boot: disk.boot }
}

export function diskFromProto (disk: Disk__Output): DiskSpec {
  return { host: disk.host, port: disk.port, export: disk.export, serial: disk.serial, boot: disk.boot }
}

export function specToProto (spec: InstanceSpec): ProtoSpec {
  return { id: spec.id, vcpus: spec.vcpus, ramMib: spec.ramMiB, disks: spec.disks.map(diskToProto), fwCfg: spec.fwCfg }
}

export function specFromProto (spec: InstanceSpec__Output): InstanceSpec {
  return { id: spec.id, vcpus: spec.vcpus, ramMiB: spec.ramMib, disks: spec.disks.map(diskFromProto), fwCfg: { ...spec.fwCfg } }
}

const STATE_TO_PROTO = { running: 'RUNNING', stopped: 'STOPPED', crashed: 'CRASHED' } as const satisfies Record<InstanceState, string>

export function infoToProto (info: InstanceInfo): ProtoInfo {
  return {
    id: info.id,
    state: STATE_TO_PROTO[info.state],
    spec: specToProto(info.spec),
    attachments: info.attachments.map(diskToProto),
    sshHost: info.ssh?.host ?? '',
    sshPort: info.ssh?.port ?? 0,
    pid: info.pid ?? 0,
    fault: info.fault ?? ''
  }
}

export function infoFromProto (info: InstanceInfo__Output): InstanceInfo {
  const state = (Object.entries(STATE_TO_PROTO).find(([, wire]) => wire === info.state)?.[0]) as InstanceState | undefined
  if (state === undefined || info.spec === null) throw new ComputeError('Internal', `malformed instance info for ${info.id}`)
  return {
    id: info.id,
    state,
    spec: specFromProto(info.spec),
    attachments: info.attachments.map(diskFromProto),
    ...(info.sshPort !== 0 ? { ssh: { host: info.sshHost, port: info.sshPort } } : {}),
    ...(info.pid !== 0 ? { pid: info.pid } : {}),
    ...(info.fault !== '' ? { fault: info.fault } : {})
  }
}

export function capacityToProto (capacity: Capacity): CapacityReply {
  return {
    agentId: capacity.agentId,
    vcpusTotal: capacity.vcpusTotal,
    vcpusFree: capacity.vcpusFree,
    ramMibTotal: capacity.ramMiBTotal,
    ramMibFree: capacity.ramMiBFree,
    instances: capacity.instances,
    accelerator: capacity.accelerator
  }
}

export function capacityFromProto (capacity: CapacityReply__Output): Capacity {
  return {
    agentId: capacity.agentId,
    vcpusTotal: capacity.vcpusTotal,
    vcpusFree: capacity.vcpusFree,
    ramMiBTotal: capacity.ramMibTotal,
    ramMiBFree: capacity.ramMibFree,
    instances: capacity.instances,
    accelerator: capacity.accelerator === 'kvm' ? 'kvm' : 'tcg'
  }
}
