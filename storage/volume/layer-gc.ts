import type { ControlStore } from '../../lib/control-store/index.ts'
import type { Logger } from '../../lib/logger.ts'
import type { ChunkStore } from '../chunks/chunk-store.ts'
import { keys, type ImageBase, type LayerRecord, type SnapshotRecord, type VolumeRecord } from './records.ts'

/**
 * Drops every layer that no volume head, snapshot or image reaches through
 * its chain (an image's layer counts from the moment its upload starts), from the nodes first and then from the control store, so a layer
 * whose drop failed (a node down) is found again next time.
 */
export async function collectGarbage (control: ControlStore, chunks: ChunkStore, logger: Logger): Promise<void> {
  const layers = new Map((await control.list<LayerRecord>(keys.layers)).map((r) => [r.value.id, r]))
  const live = new Set<string>()
  const roots = [
    ...(await control.list<VolumeRecord>(keys.volumes)).map((r) => r.value.head),
    ...(await control.list<SnapshotRecord>(keys.snapshots)).map((r) => r.value.layer),
    ...(await control.list<ImageBase>(keys.images)).map((r) => r.value.store?.layer)
  ]
  for (const root of roots) {
    for (let id: string | null | undefined = root; id !== null && id !== undefined && !live.has(id);) {
      live.add(id)
      id = layers.get(id)?.value.parent
    }
  }
  for (const [id, record] of layers) {
    if (live.has(id)) continue
    await chunks.drop(id)
    await control.commit([{ key: record.key, modRevision: record.modRevision }], [{ type: 'delete', key: record.key }])
    logger.info({ layer: id }, 'layer dropped')
  }
}
