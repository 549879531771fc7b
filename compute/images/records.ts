import type { ImageBase } from '../../storage/volume/index.ts'

export const DISK_FORMATS = ['raw', 'qcow2'] as const
export type DiskFormat = typeof DISK_FORMATS[number]
export const CONTAINER_FORMATS = ['bare'] as const
export type ContainerFormat = typeof CONTAINER_FORMATS[number]
export const VISIBILITIES = ['private', 'public'] as const

/**
 * An image as the control store keeps it (`images/<id>`): Glance v2's fields
 * under Glance's names, custom properties apart, and where the bytes live
 * (`store`, which the volume service owns: see ImageBase).
 */
export interface ImageRecord extends ImageBase {
  name: string | null
  /** What the bytes are. A qcow2 upload is converted on import and then reads `raw`. */
  disk_format: DiskFormat | null
  container_format: ContainerFormat | null
  min_ram: number
  protected: boolean
  tags: string[]
  /** MD5 of the image's data as it is served (after any conversion), hex. */
  checksum: string | null
  os_hash_algo: 'sha512' | null
  os_hash_value: string | null
  virtual_size: number | null
  created_at: string
  updated_at: string
  /** Glance's additional properties: free-form string values. */
  properties: Record<string, string>
}

/** What an image is created with (POST /images). */
export interface ImageSpec {
  id?: string
  name?: string | null
  disk_format?: DiskFormat | null
  container_format?: ContainerFormat | null
  visibility?: ImageBase['visibility']
  min_disk?: number
  min_ram?: number
  protected?: boolean
  tags?: string[]
  properties?: Record<string, string>
}

/** The record's own fields: everything else in a create or patch is a custom property. */
export const CORE_FIELDS = new Set([
  'id', 'name', 'disk_format', 'container_format', 'visibility', 'owner', 'status', 'size', 'virtual_size', 'min_disk', 'min_ram',
  'protected', 'tags', 'checksum', 'os_hash_algo', 'os_hash_value', 'created_at', 'updated_at', 'store', 'properties',
  'file', 'self', 'schema', 'locations', 'direct_url', 'os_hidden'
])

/** Fields a client may set (at creation, or later by patch); the others are the service's. */
export const WRITABLE_FIELDS = new Set(['name', 'disk_format', 'container_format', 'visibility', 'min_disk', 'min_ram', 'protected', 'tags'])

/** Where a custom property records a conversion on import (the uploaded format). */
export const CONVERTED_FROM = 'ringstack_converted_from'
