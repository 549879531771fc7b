/**
 * What the control store holds for the compute controller: flavors,
 * registered compute hosts (hypervisors), servers, and which server each
 * volume is attached to.
 */

export interface FlavorRecord {
  id: string
  name: string
  vcpus: number
  ramMiB: number
  /** GiB of the boot volume a server made from an image gets; 0 = the image's own size. */
  diskGiB: number
  createdAt: string
}

export interface HypervisorRecord {
  /** The agent's name in the registry (its config id by convention). */
  name: string
  /** host:port of its gRPC endpoint. */
  address: string
  addedAt: string
}

/** Nova's status strings; the agent's view overrides them on every read (state reconciliation). */
export type ServerStatus = 'BUILD' | 'ACTIVE' | 'SHUTOFF' | 'ERROR'

export interface ServerAttachment {
  volumeId: string
  /** Nova's device hint (/dev/vdb, ...): the guest's own order may differ after detaches. */
  device: string
}

export interface ServerRecord {
  id: string
  project: string
  userId: string
  name: string
  /** A copy: deleting or recreating the flavor does not change a running server. */
  flavor: FlavorRecord
  /** The image the boot volume was cloned from; null when booted from an existing volume. */
  image: string | null
  /** Name of the hypervisor it was placed on. */
  host: string
  bootVolume: string
  /** True when the boot volume was made for this server: deleting the server deletes it. */
  deleteBootVolume: boolean
  /** Data volumes attached live, in attach order. */
  attachments: ServerAttachment[]
  status: ServerStatus
  fault: { message: string, at: string } | null
  /** Where the host forwards to the guest's port 22, while running. */
  ssh: { host: string, port: number } | null
  metadata: Record<string, string>
  /** QEMU fw_cfg entries the guest reads (from metadata keys `fw_cfg:<name>`). */
  fwCfg: Record<string, string>
  createdAt: string
  updatedAt: string
}

/** Which server a volume is attached to (its boot volume too): one key per volume, so a second attach fails its compare. */
export interface VolumeClaim {
  serverId: string
  project: string
}

export const keys = {
  flavor: (id: string) => `flavors/${id}`,
  flavors: 'flavors/',
  flavorName: (name: string) => `flavor-names/${name}`,
  /** Set once the default flavors were created, so deleting them sticks. */
  flavorsSeeded: 'compute/flavors-seeded',
  hypervisor: (name: string) => `hypervisors/${name}`,
  hypervisors: 'hypervisors/',
  server: (id: string) => `servers/${id}`,
  servers: 'servers/',
  volumeClaim: (volumeId: string) => `server-volumes/${volumeId}`
}
