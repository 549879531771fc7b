import type { ImageRecord } from '../../compute/images/index.ts'

/** Glance v2's image JSON: core attributes, then custom properties at the top level as Glance has them. */
export function imageView (image: ImageRecord): Record<string, unknown> {
  return {
    ...image.properties,
    id: image.id,
    name: image.name,
    status: image.status,
    visibility: image.visibility,
    owner: image.owner,
    disk_format: image.disk_format,
    container_format: image.container_format,
    size: image.size,
    virtual_size: image.virtual_size,
    min_disk: image.min_disk,
    min_ram: image.min_ram,
    protected: image.protected,
    os_hidden: false,
    tags: image.tags,
    checksum: image.checksum,
    os_hash_algo: image.os_hash_algo,
    os_hash_value: image.os_hash_value,
    created_at: image.created_at,
    updated_at: image.updated_at,
    self: `/v2/images/${image.id}`,
    file: `/v2/images/${image.id}/file`,
    schema: '/v2/schemas/image'
  }
}
