export { registerKeystoneApi, type KeystoneApiComponents } from './keystone-api.ts'
export { TokenService, type IssuedToken, type Principal } from './token-service.ts'
export { Users } from './users.ts'
