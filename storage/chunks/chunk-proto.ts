import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import type { ProtoGrpcType } from '../../proto/gen/block.ts'
import type { ChunkState as ProtoChunkState, ChunkState__Output } from '../../proto/gen/ringstack/block/v1/ChunkState.ts'
import type { ChunkStoreDefinition } from '../../proto/gen/ringstack/block/v1/ChunkStore.ts'
import type { Version, Version__Output } from '../../proto/gen/ringstack/block/v1/Version.ts'
import { StorageError } from '../errors.ts'
import type { ChunkState, ChunkVersion } from './chunk-store.ts'
import { packagePath } from '../../lib/package-path.ts'

const PROTO_PATH = packagePath('proto', 'block.proto')
const LOADER_OPTIONS: protoLoader.Options = { longs: String, enums: String, defaults: true, oneofs: true }

type ChunkStoreConstructor = ProtoGrpcType['ringstack']['block']['v1']['ChunkStore']

/** Parsed once per process: immutable, and clients are made often. */
let chunkStore: ChunkStoreConstructor | undefined

export function loadChunkStore (): ChunkStoreConstructor {
  if (chunkStore === undefined) {
    const definition = protoLoader.loadSync(PROTO_PATH, LOADER_OPTIONS)
    chunkStore = (grpc.loadPackageDefinition(definition) as unknown as ProtoGrpcType).ringstack.block.v1.ChunkStore
  }
  return chunkStore
}

export function chunkStoreService (): ChunkStoreDefinition {
  return loadChunkStore().service
}

export function versionToProto (version: ChunkVersion): Version {
  return { epoch: version.epoch, seq: version.seq }
}

/** uint64 arrives as a decimal string (longs: String); seqs stay far below 2^53. */
export function versionFromProto (version: Version__Output | null | undefined): ChunkVersion | null {
  if (version == null) return null
  const seq = Number(version.seq)
  if (!Number.isSafeInteger(seq)) throw new StorageError('InvalidArgument', `chunk version seq ${version.seq} is out of range`)
  return { epoch: version.epoch, seq }
}

export function stateToProto (state: ChunkState | null): ProtoChunkState | null {
  return state === null ? null : { version: versionToProto(state.version), hole: state.hole }
}

export function stateFromProto (state: ChunkState__Output | null | undefined): ChunkState | null {
  const version = versionFromProto(state?.version)
  return version === null ? null : { version, hole: state?.hole === true }
}
