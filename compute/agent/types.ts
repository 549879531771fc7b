/** The agent's domain types, shared by the agent and its typed client (compute/agent-client.ts). */

/** A volume served over NBD, as QEMU should open it. */
export interface DiskSpec {
  host: string
  port: number
  export: string
  /** The guest sees it as the disk's serial (first 20 bytes): the volume id. */
  serial: string
  /** The disk the firmware boots from. */
  boot: boolean
}

export interface InstanceSpec {
  id: string
  vcpus: number
  ramMiB: number
  /** Guest order: vda, vdb, ...; exactly one boot disk. */
  disks: DiskSpec[]
  /** QEMU fw_cfg entries (names under "opt/") the guest can read. */
  fwCfg: Record<string, string>
}

export type InstanceState = 'running' | 'stopped' | 'crashed'

export interface InstanceInfo {
  id: string
  state: InstanceState
  spec: InstanceSpec
  /** Volumes attached live, in attach order. */
  attachments: DiskSpec[]
  /** Where the host forwards to the guest's port 22; undefined while not running. */
  ssh?: { host: string, port: number }
  /** QEMU's pid while running. */
  pid?: number
  /** Why the instance is not running when it should be. */
  fault?: string
}

export interface Capacity {
  agentId: string
  vcpusTotal: number
  vcpusFree: number
  ramMiBTotal: number
  ramMiBFree: number
  instances: number
  accelerator: Accelerator
}

export type Accelerator = 'kvm' | 'tcg'
