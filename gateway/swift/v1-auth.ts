import type { FastifyReply, FastifyRequest } from 'fastify'
import { RingstackError } from '../../lib/errors.ts'
import type { Principal, TokenService } from '../identity/index.ts'
import { SwiftError } from './errors.ts'
import { accountOf } from './target.ts'

/**
 * A password login scoped to a project by name, as identity provides it;
 * a refused login throws (any error: the caller answers 401).
 */
export type SwiftLogin = (request: { user: { name: string }, password: string, project: { name: string }, address: string }) => Promise<Principal>

/**
 * Swift's v1 auth (tempauth's shape): `X-Auth-User: <project>:<user>` and
 * `X-Auth-Key: <password>` log in as the Keystone password login does and
 * answer with an ordinary token (X-Auth-Token, also X-Storage-Token) and the
 * project's storage URL on this gateway.
 */
export async function v1Auth (request: FastifyRequest, reply: FastifyReply, components: { login: SwiftLogin, tokens: TokenService }): Promise<void> {
  const user = request.headers['x-auth-user'] ?? request.headers['x-storage-user']
  const key = request.headers['x-auth-key'] ?? request.headers['x-storage-pass']
  const colon = typeof user === 'string' ? user.indexOf(':') : -1
  if (typeof user !== 'string' || typeof key !== 'string' || colon <= 0 || colon === user.length - 1) throw new SwiftError('Unauthorized')
  let principal: Principal
  try {
    principal = await components.login({ user: { name: user.slice(colon + 1) }, password: key, project: { name: user.slice(0, colon) }, address: request.ip })
  } catch (err) {
    if (!(err instanceof RingstackError)) throw err
    // Every refusal looks alike: no oracle on which of project, user or password was wrong.
    throw new SwiftError('Unauthorized', '', { cause: err })
  }
  const issued = components.tokens.issue(principal)
  const storageUrl = `${request.protocol}://${request.headers.host ?? 'localhost'}/v1/${accountOf(principal.projectId)}`
  reply.header('x-auth-token', issued.token).header('x-storage-token', issued.token)
    .header('x-storage-url', storageUrl)
    .header('x-auth-token-expires', String(Math.max(0, Math.floor((issued.expiresAt.getTime() - Date.now()) / 1000))))
    .type('application/json')
    .send({ storage: { default: 'local', local: storageUrl } })
}
