import type { ControlStore } from '../../lib/control-store/index.ts'
import type { ChunkState, ChunkStore } from '../chunks/chunk-store.ts'
import { VolumeError } from './errors.ts'
import { keys, type LayerRecord } from './records.ts'

export interface ChainLayer {
  id: string
  /** What each chunk index holds in this layer; absent indexes fall through. */
  chunks: Map<number, ChunkState>
}

export interface ChunkLocation {
  layer: ChainLayer
  state: ChunkState
}

/** Layer ids from `top` down to the bottom of its chain. */
export async function chainIds (control: ControlStore, top: string): Promise<string[]> {
  const ids: string[] = []
  for (let id: string | null = top; id !== null;) {
    if (ids.includes(id)) throw new Error(`layer cycle at ${id}`)
    ids.push(id)
    const record: { value: LayerRecord } | undefined = await control.get<LayerRecord>(keys.layer(id))
    if (record === undefined) throw new VolumeError('NotFound', `layer ${id} is missing`)
    id = record.value.parent
  }
  return ids
}

/**
 * An open volume's or snapshot's layers, top first, each with the chunk map
 * the storage nodes reported: the in-memory allocation map every read,
 * write and BLOCK_STATUS consults instead of asking the nodes.
 */
export class LayerChain {
  readonly layers: ChainLayer[]

  private constructor (layers: ChainLayer[]) {
    this.layers = layers
  }

  static async load (control: ControlStore, chunks: ChunkStore, top: string): Promise<LayerChain> {
    const ids = await chainIds(control, top)
    const maps = await Promise.all(ids.map(async (id) => await chunks.scan(id)))
    return new LayerChain(ids.map((id, i) => ({ id, chunks: maps[i] ?? new Map() })))
  }

  get top (): ChainLayer {
    // A chain always has its top layer (load() starts from it).
    return this.layers[0]!
  }

  /** The layer serving chunk `index`: the first that has it (a hole shadows everything below). */
  find (index: number): ChunkLocation | undefined {
    for (const layer of this.layers) {
      const state = layer.chunks.get(index)
      if (state !== undefined) return { layer, state }
    }
    return undefined
  }

  /** True when the chunk reads as data (not zeroes) somewhere below the top layer. */
  inheritsData (index: number): ChunkLocation | undefined {
    for (const layer of this.layers.slice(1)) {
      const state = layer.chunks.get(index)
      if (state !== undefined) return state.hole ? undefined : { layer, state }
    }
    return undefined
  }

  /** Indexes whose data the top layer still takes from a layer below. */
  inheritedIndexes (): number[] {
    const seen = new Set<number>()
    for (const layer of this.layers.slice(1)) {
      for (const index of layer.chunks.keys()) {
        if (!this.top.chunks.has(index)) seen.add(index)
      }
    }
    return [...seen].filter((index) => this.inheritsData(index) !== undefined).sort((a, b) => a - b)
  }
}
