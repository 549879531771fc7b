export {
  BlockError, ExportError, type BlockDevice, type BlockErrorCode, type BlockExtent, type BlockSizes, type ExportErrorCode,
  type ExportInfo, type ExportProvider, type WriteOptions, type ZeroOptions
} from './block-device.ts'
export { VolumeError, type VolumeErrorCode } from './errors.ts'
export { LayerWriter } from './layer-writer.ts'
export { DEFAULT_CHUNK_SIZE, SECTOR, keys as controlKeys, type ImageBase, type ImageStore, type SnapshotRecord, type VolumeRecord } from './records.ts'
export {
  VolumeService, type CloneVolume, type CreateVolume, type VolumeFromImage, type VolumeServiceComponents, type VolumeServiceOptions, type VolumeStatus
} from './volume-service.ts'
export { VolumeExports } from './volume-exports.ts'
