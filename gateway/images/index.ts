export { registerImageApi, type ImageApiComponents } from './image-api.ts'
