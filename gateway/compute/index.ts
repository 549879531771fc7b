export { registerComputeApi, type ComputeApiComponents } from './compute-api.ts'
