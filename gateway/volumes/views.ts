import type { SnapshotRecord, VolumeRecord, VolumeStatus } from '../../storage/volume/index.ts'

export const GiB = 1024 ** 3

/** The server a volume is attached to (the compute controller's record of it). */
export interface VolumeAttachment {
  serverId: string
  device: string
}

/** Cinder's JSON shape, sizes in whole GiB as it has them, plus exact bytes under our own prefix. */
export function volumeView (volume: VolumeRecord, status: VolumeStatus | 'flattening', progress?: { done: number, total: number },
  attachment?: VolumeAttachment): Record<string, unknown> {
  return {
    id: volume.id,
    name: volume.name,
    size: Math.ceil(volume.size / GiB),
    status,
    created_at: volume.createdAt,
    snapshot_id: volume.sourceSnapshot,
    bootable: (volume.sourceImage ?? null) === null ? 'false' : 'true',
    multiattach: false,
    volume_type: 'ringstack',
    availability_zone: 'nova',
    attachments: attachment === undefined
      ? []
      : [{ id: volume.id, attachment_id: volume.id, volume_id: volume.id, server_id: attachment.serverId, device: attachment.device, host_name: null }],
    metadata: {},
    'os-vol-tenant-attr:tenant_id': volume.project,
    'ringstack:size_bytes': volume.size,
    'ringstack:chunk_size': volume.chunkSize,
    ...((volume.sourceImage ?? null) === null ? {} : { volume_image_metadata: { image_id: volume.sourceImage } }),
    ...(progress === undefined ? {} : { 'ringstack:flatten_progress': progress })
  }
}

export function snapshotView (snapshot: SnapshotRecord): Record<string, unknown> {
  return {
    id: snapshot.id,
    name: snapshot.name,
    volume_id: snapshot.volumeId,
    size: Math.ceil(snapshot.size / GiB),
    status: 'available',
    created_at: snapshot.createdAt,
    metadata: {},
    'os-extended-snapshot-attributes:project_id': snapshot.project,
    'ringstack:size_bytes': snapshot.size
  }
}
