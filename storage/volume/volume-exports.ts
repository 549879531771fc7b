import { ExportError, type BlockDevice, type BlockSizes, type ExportInfo, type ExportProvider } from './block-device.ts'
import { VolumeError } from './errors.ts'
import type { SnapshotRecord, VolumeRecord } from './records.ts'
import { SECTOR } from './records.ts'
import type { VolumeService } from './volume-service.ts'

type Target = { kind: 'volume', record: VolumeRecord } | { kind: 'snapshot', record: SnapshotRecord }

const BLOCK_SIZES: BlockSizes = { minimum: SECTOR, preferred: 4096, maximum: 32 * 1024 * 1024 }

/**
 * Volumes and snapshots as exports. An export name is a volume or snapshot
 * id, `project/name`, or a bare name when only one volume or snapshot in
 * the cluster has it. Volumes open read-write (taking their lease),
 * snapshots read-only.
 */
export class VolumeExports implements ExportProvider {
  private readonly volumes: VolumeService

  constructor (components: { volumes: VolumeService }) {
    this.volumes = components.volumes
  }

  async list (): Promise<ExportInfo[]> {
    const volumes = await this.volumes.listVolumes()
    const snapshots = await this.volumes.listSnapshots()
    return [
      ...volumes.map((v) => ({ name: v.id, description: describe({ kind: 'volume', record: v }) })),
      ...snapshots.map((s) => ({ name: s.id, description: describe({ kind: 'snapshot', record: s }) }))
    ]
  }

  async describe (name: string): Promise<ExportInfo & { size: number, readOnly: boolean, blockSizes: BlockSizes }> {
    const target = await this.resolve(name)
    return { name, description: describe(target), size: target.record.size, readOnly: target.kind === 'snapshot', blockSizes: BLOCK_SIZES }
  }

  async open (name: string): Promise<BlockDevice> {
    const target = await this.resolve(name)
    try {
      return target.kind === 'volume' ? await this.volumes.openVolume(target.record.id) : await this.volumes.openSnapshot(target.record.id)
    } catch (err) {
      if (err instanceof VolumeError && err.code === 'InUse') throw new ExportError('InUse', err.message, { cause: err })
      if (err instanceof VolumeError && err.code === 'NotFound') throw new ExportError('UnknownExport', err.message, { cause: err })
      if (err instanceof VolumeError && err.code === 'Unavailable') throw new ExportError('Unavailable', err.message, { cause: err })
      throw err
    }
  }

  private async resolve (name: string): Promise<Target> {
    const slash = name.indexOf('/')
    const project = slash === -1 ? undefined : name.slice(0, slash)
    const ref = slash === -1 ? name : name.slice(slash + 1)
    // Clients (qemu, the compute agent) name exports by id: one key read each, no listing.
    const volume = await this.volumes.getVolume(project, ref).catch(notFound)
    if (volume?.id === ref) return { kind: 'volume', record: volume }
    const snapshot = await this.volumes.getSnapshot(project, ref).catch(notFound)
    if (snapshot?.id === ref) return { kind: 'snapshot', record: snapshot }
    const found: Target[] = []
    for (const volume of await this.volumes.listVolumes(project)) {
      if (volume.id === ref || volume.name === ref) found.push({ kind: 'volume', record: volume })
    }
    for (const snapshot of await this.volumes.listSnapshots(project)) {
      if (snapshot.id === ref || snapshot.name === ref) found.push({ kind: 'snapshot', record: snapshot })
    }
    if (found.length === 1) return found[0]!
    if (found.length === 0) throw new ExportError('UnknownExport', `no volume or snapshot ${name}`)
    throw new ExportError('UnknownExport', `${name} is ambiguous: use the id or project/name`)
  }
}

function notFound (err: unknown): undefined {
  if (err instanceof VolumeError && err.code === 'NotFound') return undefined
  throw err
}

function describe (target: Target): string {
  return target.kind === 'volume'
    ? `volume ${target.record.name} (project ${target.record.project})`
    : `snapshot ${target.record.name} of volume ${target.record.volumeId} (project ${target.record.project}, read-only)`
}
