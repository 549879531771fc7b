export { registerVolumeApi, type VolumeApiComponents } from './volume-api.ts'
