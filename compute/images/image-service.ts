import { randomUUID } from 'node:crypto'
import { tmpdir } from 'node:os'
import { updateRecord, type ControlStore } from '../../lib/control-store/index.ts'
import type { Startable } from '../../lib/lifecycle.ts'
import type { Logger } from '../../lib/logger.ts'
import { controlKeys, SECTOR, VolumeError, type BlockDevice, type VolumeErrorCode, type VolumeService } from '../../storage/volume/index.ts'
import { ImageError, type ImageErrorCode } from './errors.ts'
import { checkField } from './image-fields.ts'
import { importImageData } from './image-import.ts'
import { applyPatch } from './image-patch.ts'
import { progressLog } from './progress-log.ts'
import { CONVERTED_FROM, CORE_FIELDS, WRITABLE_FIELDS, type ImageRecord, type ImageSpec } from './records.ts'

export interface ImageServiceComponents {
  control: ControlStore
  volumes: VolumeService
  logger: Logger
}

export interface ImageServiceOptions {
  /** Names this process in the records of the uploads it runs (e.g. the gateway id). */
  holder: string
  /** Where qcow2 uploads are spooled for conversion (default: the OS temp dir). */
  spoolDir?: string
  /** Largest image, raw bytes (default 1 TiB, Glance's image_size_cap). */
  maxSize?: number
}

/** A volume error as this service's own (its API maps one set of codes). */
const FROM_VOLUME: Record<VolumeErrorCode, ImageErrorCode> = {
  NotFound: 'NotFound',
  AlreadyExists: 'Conflict',
  InUse: 'Conflict',
  HasDependents: 'InUse',
  InvalidArgument: 'InvalidArgument',
  Unavailable: 'Unavailable'
}

const READ_PIECE = 4 * 1024 * 1024

/**
 * Glance-style images: records in the control store, bytes in a layer of the
 * ring that volumes clone in O(1) (the volume service owns that side).
 * Status runs queued → saving → active, or killed when an upload fails
 * (its bytes are then dropped). Each project sees its own images and the
 * public ones, and changes only its own.
 */
export class ImageService implements Startable {
  private readonly control: ControlStore
  private readonly volumes: VolumeService
  private readonly logger: Logger
  private readonly holder: string
  private readonly spoolDir: string
  private readonly maxSize: number

  constructor (components: ImageServiceComponents, options: ImageServiceOptions) {
    this.control = components.control
    this.volumes = components.volumes
    this.logger = components.logger
    this.holder = options.holder
    this.spoolDir = options.spoolDir ?? tmpdir()
    this.maxSize = options.maxSize ?? 1024 ** 4
  }

  /** Uploads this process was running when it last stopped died with it: they end killed, their bytes dropped. */
  async start (): Promise<void> {
    for (const { value: image } of await this.control.list<ImageRecord>(controlKeys.images)) {
      if (image.status === 'saving' && image.store?.writer === this.holder) {
        this.logger.warn({ image: image.id }, 'upload interrupted by a restart; image killed')
        await this.volumes.abandonImageImport<ImageRecord>(image.id, (current) => ({ ...current, status: 'killed', updated_at: now() }))
      }
    }
  }

  async stop (): Promise<void> {
    // Uploads and downloads run inside HTTP requests, which the gateway drains before this.
  }

  async create (project: string, spec: ImageSpec): Promise<ImageRecord> {
    const id = spec.id ?? randomUUID()
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) throw new ImageError('InvalidArgument', 'an image id is a UUID')
    const at = now()
    const image: ImageRecord = {
      id,
      name: null,
      owner: project,
      visibility: 'private',
      status: 'queued',
      disk_format: null,
      container_format: null,
      size: null,
      virtual_size: null,
      min_disk: 0,
      min_ram: 0,
      protected: false,
      tags: [],
      checksum: null,
      os_hash_algo: null,
      os_hash_value: null,
      created_at: at,
      updated_at: at,
      properties: {},
      store: null
    }
    for (const [field, value] of Object.entries(spec)) {
      if (field === 'id' || field === 'properties') continue
      if (!WRITABLE_FIELDS.has(field)) throw new ImageError('Forbidden', `Attribute '${field}' is read-only.`)
      Object.assign(image, { [field]: checkField(field, value) })
    }
    for (const [key, value] of Object.entries(spec.properties ?? {})) {
      if (CORE_FIELDS.has(key)) throw new ImageError('Forbidden', `Attribute '${key}' is reserved.`)
      image.properties[key] = checkField(key, value) as string
    }
    try {
      await this.control.commit([{ key: controlKeys.image(id), modRevision: 0 }], [{ type: 'put', key: controlKeys.image(id), value: image }])
    } catch (err) {
      if ((err as { code?: string }).code === 'Conflict') throw new ImageError('Conflict', `an image with id ${id} already exists`)
      throw err
    }
    this.logger.info({ image: id, name: image.name, project }, 'image created')
    return image
  }

  /** The project's images and every public one, newest first. */
  async list (project: string): Promise<ImageRecord[]> {
    const all = (await this.control.list<ImageRecord>(controlKeys.images)).map((r) => r.value)
    return all.filter((i) => visibleTo(i, project)).sort((a, b) => b.created_at.localeCompare(a.created_at) || a.id.localeCompare(b.id))
  }

  async get (project: string, id: string): Promise<ImageRecord> {
    const record = await this.control.get<ImageRecord>(controlKeys.image(id))
    if (record === undefined || !visibleTo(record.value, project)) throw new ImageError('NotFound', `No image found with ID ${id}`)
    return record.value
  }

  async update (project: string, id: string, patch: unknown): Promise<ImageRecord> {
    return await this.change(project, id, (image) => ({ ...applyPatch(image, patch), updated_at: now() }))
  }

  /**
   * Streams `data` into the image: refused unless it is queued; it reads
   * saving meanwhile, then active, or killed (bytes dropped) on any failure.
   */
  async upload (project: string, id: string, data: AsyncIterable<Buffer>): Promise<ImageRecord> {
    await this.owned(project, id)
    const killed = (current: ImageRecord): ImageRecord => ({ ...current, status: 'killed', updated_at: now() })
    const saving = (current: ImageRecord): ImageRecord => {
      if (current.status !== 'queued') throw new ImageError('Conflict', `Image status transition from ${current.status} to saving is not allowed`)
      if (current.disk_format === null || current.container_format === null) {
        throw new ImageError('InvalidArgument', 'Properties disk_format, container_format must be set prior to saving data.')
      }
      return { ...current, status: 'saving', updated_at: now() }
    }
    const { image, writer } = await volumeCall(async () => await this.volumes.startImageImport<ImageRecord>(id, { saving, failed: killed }))
    const declared = image.disk_format!
    try {
      const progress = progressLog(this.logger, { image: id })
      const imported = await importImageData(data, writer, { declared, spoolDir: this.spoolDir, maxSize: this.maxSize, progress })
      const { convertedFrom, ...sums } = imported
      const active = await this.change(project, id, (current) => {
        if (current.store?.layer !== writer.layer) throw new ImageError('Conflict', `image ${id} changed during the upload`)
        return {
          ...current,
          ...sums,
          status: 'active',
          virtual_size: imported.size,
          disk_format: 'raw',
          properties: convertedFrom === undefined ? current.properties : { ...current.properties, [CONVERTED_FROM]: convertedFrom },
          updated_at: now()
        }
      })
      this.logger.info({ image: id, size: imported.size, convertedFrom }, 'image active')
      return active
    } catch (err) {
      await writer.abort()
      await this.volumes.abandonImageImport<ImageRecord>(id, killed)
      this.logger.warn({ err, image: id }, 'image upload failed; image killed')
      throw err instanceof VolumeError ? fromVolume(err) : err
    }
  }

  /**
   * The bytes of an active image, `length` from `offset` (the whole image by
   * default). Resolves once the bytes can be read, so a refusal comes before
   * any byte does.
   */
  async download (project: string, id: string, span?: { offset: number, length: number }): Promise<AsyncGenerator<Buffer>> {
    const image = await this.get(project, id)
    const device = await volumeCall(async () => await this.volumes.openImage(id))
    return readImage(device, image.size!, span)
  }

  /** Refused while volumes or snapshots read the image (flatten or delete them first), or while it is protected. */
  async delete (project: string, id: string): Promise<void> {
    await this.owned(project, id)
    await volumeCall(async () => await this.volumes.deleteImage<ImageRecord>(id, (image) => {
      if (image.protected) throw new ImageError('Forbidden', `Image ${id} is protected and cannot be deleted.`)
    }))
    this.logger.info({ image: id, project }, 'image deleted')
  }

  /** Read-modify-write of an image this project owns, retried when a concurrent change (e.g. a clone) got there first. */
  private async change (project: string, id: string, update: (image: ImageRecord) => ImageRecord): Promise<ImageRecord> {
    await this.owned(project, id)
    const next = await updateRecord<ImageRecord>(this.control, controlKeys.image(id), (current) => {
      if (current === undefined) throw new ImageError('NotFound', `No image found with ID ${id}`)
      return update(current)
    })
    return next!
  }

  private async owned (project: string, id: string): Promise<ImageRecord> {
    const image = await this.get(project, id)
    if (image.owner !== project) throw new ImageError('Forbidden', `You are not permitted to modify image ${id} (owned by another project).`)
    return image
  }
}

/** Reads `span` of an image device in pieces (sector-aligned underneath), one read ahead. */
async function * readImage (device: BlockDevice, size: number, span?: { offset: number, length: number }): AsyncGenerator<Buffer> {
  const end = span === undefined ? size : span.offset + span.length
  const read = async (at: number): Promise<Buffer> => {
    // The device reads whole sectors; the image's own size need not be one.
    const from = Math.floor(at / SECTOR) * SECTOR
    const to = Math.min(from + READ_PIECE, Math.ceil(end / SECTOR) * SECTOR)
    const data = await device.read(from, to - from)
    return data.subarray(at - from, Math.min(data.length, end - from))
  }
  try {
    let at = span?.offset ?? 0
    // One read ahead keeps the nodes busy while the client takes the previous piece.
    let next = at < end ? read(at) : undefined
    while (next !== undefined) {
      const piece = await next
      at += piece.length
      next = at < end ? read(at) : undefined
      next?.catch(() => {})
      yield piece
    }
  } finally {
    await device.close()
  }
}

function visibleTo (image: ImageRecord, project: string): boolean {
  return image.owner === project || image.visibility === 'public'
}

function now (): string {
  return new Date().toISOString()
}

function fromVolume (err: VolumeError): ImageError {
  return new ImageError(FROM_VOLUME[err.code], err.message, { cause: err })
}

async function volumeCall<T> (op: () => Promise<T>): Promise<T> {
  try {
    return await op()
  } catch (err) {
    throw err instanceof VolumeError ? fromVolume(err) : err
  }
}
