import type { FlavorRecord, HypervisorView, ServerAttachment, ServerRecord } from '../../compute/index.ts'

/** Nova's JSON shapes (microversion 2.1 names, with the flavor's details as later versions give them). */

/** Slirp's fixed guest address: every server's user-mode NIC has it, reachable through its ssh forward. */
const GUEST_ADDRESS = '10.0.2.15'

function link (base: string, path: string): Array<{ rel: string, href: string }> {
  return [{ rel: 'self', href: `${base}${path}` }, { rel: 'bookmark', href: `${base}${path}` }]
}

export function flavorView (flavor: FlavorRecord, base: string): Record<string, unknown> {
  return {
    id: flavor.id,
    name: flavor.name,
    vcpus: flavor.vcpus,
    ram: flavor.ramMiB,
    disk: flavor.diskGiB,
    swap: '',
    rxtx_factor: 1.0,
    'OS-FLV-EXT-DATA:ephemeral': 0,
    'OS-FLV-DISABLED:disabled': false,
    'os-flavor-access:is_public': true,
    links: link(base, `/flavors/${flavor.id}`)
  }
}

const VM_STATE = { BUILD: 'building', ACTIVE: 'active', SHUTOFF: 'stopped', ERROR: 'error' } as const
/** Nova's power_state numbers: NOSTATE 0, RUNNING 1, SHUTDOWN 4. */
const POWER_STATE = { BUILD: 0, ACTIVE: 1, SHUTOFF: 4, ERROR: 0 } as const

export function serverView (server: ServerRecord, base: string): Record<string, unknown> {
  return {
    id: server.id,
    name: server.name,
    status: server.status,
    tenant_id: server.project,
    user_id: server.userId,
    created: server.createdAt,
    updated: server.updatedAt,
    hostId: server.host,
    'OS-EXT-SRV-ATTR:host': server.host,
    'OS-EXT-SRV-ATTR:hypervisor_hostname': server.host,
    'OS-EXT-SRV-ATTR:instance_name': server.id,
    'OS-EXT-STS:vm_state': VM_STATE[server.status],
    'OS-EXT-STS:power_state': POWER_STATE[server.status],
    'OS-EXT-STS:task_state': null,
    'OS-EXT-AZ:availability_zone': 'nova',
    'OS-DCF:diskConfig': 'MANUAL',
    // Booted from a volume: Nova shows an empty string.
    image: server.image === null ? '' : { id: server.image, links: link(base.replace(/\/compute\/v2\.1$/, '/image/v2'), `/images/${server.image}`) },
    flavor: {
      id: server.flavor.id, original_name: server.flavor.name, vcpus: server.flavor.vcpus, ram: server.flavor.ramMiB, disk: server.flavor.diskGiB,
      ephemeral: 0, swap: 0, extra_specs: {}, links: link(base, `/flavors/${server.flavor.id}`)
    },
    addresses: server.status === 'ACTIVE' ? { user: [{ version: 4, addr: GUEST_ADDRESS, 'OS-EXT-IPS:type': 'fixed' }] } : {},
    accessIPv4: '',
    accessIPv6: '',
    key_name: null,
    metadata: server.metadata,
    progress: server.status === 'ACTIVE' ? 100 : 0,
    security_groups: [],
    config_drive: '',
    'os-extended-volumes:volumes_attached': [server.bootVolume, ...server.attachments.map((a) => a.volumeId)]
      .map((id) => ({ id, delete_on_termination: id === server.bootVolume && server.deleteBootVolume })),
    ...(server.fault === null ? {} : { fault: { code: server.status === 'ERROR' ? 500 : 0, message: server.fault.message, created: server.fault.at } }),
    'ringstack:boot_volume': server.bootVolume,
    'ringstack:ssh': server.ssh === null ? null : `${server.ssh.host}:${server.ssh.port}`,
    links: link(base, `/servers/${server.id}`)
  }
}

export function serverSummary (server: ServerRecord, base: string): Record<string, unknown> {
  return { id: server.id, name: server.name, links: link(base, `/servers/${server.id}`) }
}

export function attachmentView (serverId: string, attachment: ServerAttachment): Record<string, unknown> {
  return { id: attachment.volumeId, volumeId: attachment.volumeId, serverId, device: attachment.device }
}

export function hypervisorView (view: HypervisorView): Record<string, unknown> {
  const { record, capacity } = view
  return {
    id: record.name,
    hypervisor_hostname: record.name,
    hypervisor_type: 'QEMU',
    state: capacity === undefined ? 'down' : 'up',
    status: 'enabled',
    host_ip: record.address.replace(/:\d+$/, '').replace(/^\[|\]$/g, ''),
    vcpus: capacity?.vcpusTotal ?? 0,
    vcpus_used: capacity === undefined ? 0 : capacity.vcpusTotal - capacity.vcpusFree,
    memory_mb: capacity?.ramMiBTotal ?? 0,
    memory_mb_used: capacity === undefined ? 0 : capacity.ramMiBTotal - capacity.ramMiBFree,
    running_vms: capacity?.instances ?? 0,
    'ringstack:address': record.address,
    'ringstack:accelerator': capacity?.accelerator ?? null,
    ...(view.down === undefined ? {} : { 'ringstack:down_reason': view.down })
  }
}
