import type { IncomingHttpHeaders } from 'node:http'
import type { IssuedToken, Principal, TokenService } from '../identity/index.ts'
import { SwiftError } from './errors.ts'

/** Methods that change nothing; a reader may use them. */
const READ_METHODS = new Set(['GET', 'HEAD'])

/** The caller's token (X-Auth-Token, or X-Storage-Token as Swift v1 clients may send it); 401 without a valid one. */
export async function requireToken (headers: IncomingHttpHeaders, tokens: TokenService): Promise<IssuedToken> {
  const header = headers['x-auth-token'] ?? headers['x-storage-token']
  const token = typeof header === 'string' && header !== '' ? await tokens.verify(header) : undefined
  if (token === undefined) throw new SwiftError('Unauthorized')
  return token
}

/**
 * Whether `principal` may act on the account of `projectId` with `method`:
 * its own project's account (a reader only reads), or any account for an
 * admin. Another project's account is 403, as Swift's keystoneauth answers.
 */
export function authorize (principal: Principal, projectId: string, method: string): void {
  if (principal.roles.includes('admin')) return
  if (principal.projectId !== projectId) throw new SwiftError('Forbidden')
  if (!READ_METHODS.has(method) && !principal.roles.some((role) => role === 'member')) throw new SwiftError('Forbidden')
}
