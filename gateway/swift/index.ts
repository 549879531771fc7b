/**
 * OpenStack Swift's object API (/v1/AUTH_<project>), v1 auth (/auth/v1.0)
 * and capabilities (/info) over the same Namespace as S3, plus the reaper
 * of objects past their X-Delete-At.
 */
export { registerSwiftApi, type SwiftApiComponents } from './swift-api.ts'
export { ObjectExpirer } from './expirer.ts'
export type { SwiftLogin } from './v1-auth.ts'
export { accountOf } from './target.ts'
