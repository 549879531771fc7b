export { ImageError, type ImageErrorCode } from './errors.ts'
export { ImageService, type ImageServiceComponents, type ImageServiceOptions } from './image-service.ts'
export { CORE_FIELDS, type ImageRecord, type ImageSpec } from './records.ts'
