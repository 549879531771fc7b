import type { FastifyInstance } from 'fastify'
import type { Logger } from '../../lib/logger.ts'
import { readJson } from '../openstack/http.ts'
import { IdentityError } from './errors.ts'
import type { Identity } from './identity-service.ts'
import { registerKeystoneAdminApi } from './keystone-admin-api.ts'
import { registerKeystoneEc2Api } from './keystone-ec2-api.ts'
import { keystoneRouter } from './keystone-routes.ts'
import { projectView, tokenView } from './keystone-views.ts'
import { serviceCatalog } from './catalog.ts'
import type { PasswordLoginRequest } from './password-login.ts'
import type { IssuedToken } from './token-service.ts'

export interface KeystoneApiComponents {
  identity: Identity
  logger: Logger
}

/**
 * Keystone v3 under /identity/v3 (devstack's layout): password login
 * scoped to a project, token validation and revocation, the service
 * catalog, and the admin API for projects, users, roles, assignments and
 * EC2 credentials (keystone-admin-api.ts, keystone-ec2-api.ts).
 */
export function registerKeystoneApi (app: FastifyInstance, components: KeystoneApiComponents): void {
  const { identity, logger } = components
  const { tokens } = identity
  const { open, authed } = keystoneRouter(app, { tokens, logger })

  open(['GET'], '', async ({ reply, base }) => {
    reply.send({ version: { id: 'v3.14', status: 'stable', updated: '2020-04-07T00:00:00Z', links: [{ rel: 'self', href: `${base}/identity/v3/` }], 'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.identity-v3+json' }] } })
  })

  open(['POST'], '/auth/tokens', async ({ request, reply, base }) => {
    const principal = await identity.logins.login({ ...parseLogin(await readJson(request)), address: request.ip })
    const issued = tokens.issue(principal)
    logger.info({ user: principal.userName, project: principal.projectId }, 'token issued')
    reply.code(201).header('x-subject-token', issued.token).send({ token: tokenView(issued, base) })
  })

  /** The token named by X-Subject-Token, which must be valid (Keystone's 404 otherwise). */
  const subjectOf = (headers: Record<string, unknown>): IssuedToken => {
    const subject = headers['x-subject-token']
    const issued = typeof subject === 'string' ? tokens.verify(subject) : undefined
    if (issued === undefined) throw new IdentityError('NotFound', 'Could not find token.')
    return issued
  }

  authed(['GET', 'HEAD'], '/auth/tokens', async ({ request, reply, base, token }) => {
    const subject = subjectOf(request.headers)
    // Anyone may validate their own token; validating another's is a service's (admin's) job.
    if (subject.principal.userId !== token.principal.userId && !token.principal.roles.includes('admin')) {
      throw new IdentityError('Forbidden', 'You are not authorized to validate another user\'s token.')
    }
    reply.header('x-subject-token', subject.token)
    if (request.method === 'HEAD') reply.code(200).send()
    else reply.send({ token: tokenView(subject, base) })
  })

  authed(['DELETE'], '/auth/tokens', async ({ request, reply, token }) => {
    const subject = subjectOf(request.headers)
    if (subject.principal.userId !== token.principal.userId && !token.principal.roles.includes('admin')) {
      throw new IdentityError('Forbidden', 'You are not authorized to revoke another user\'s token.')
    }
    await tokens.revoke(subject)
    logger.info({ user: subject.principal.userName }, 'token revoked')
    reply.code(204).send()
  })

  authed(['GET'], '/auth/catalog', async ({ reply, base, token }) => {
    reply.send({ catalog: serviceCatalog(base, token.principal.projectId), links: { self: `${base}/identity/v3/auth/catalog` } })
  })

  authed(['GET'], '/auth/projects', async ({ reply, base, token }) => {
    const mine = await identity.assignments.list({ userId: token.principal.userId })
    const projects = (await identity.projects.list()).filter((p) => mine.some((a) => a.projectId === p.id))
    reply.send({ projects: projects.map((p) => projectView(p, base)), links: { self: `${base}/identity/v3/auth/projects` } })
  })

  registerKeystoneAdminApi(authed, identity)
  registerKeystoneEc2Api(authed, identity)
}

type Login = Omit<PasswordLoginRequest, 'address'>

const bad = (message: string): IdentityError => new IdentityError('InvalidArgument', message)

function record (value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(`Invalid input for field '${what}': an object is required.`)
  return value as Record<string, unknown>
}

function optionalText (body: Record<string, unknown>, key: string, what: string): string | undefined {
  const value = body[key]
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value === '') throw bad(`Invalid input for field '${what}.${key}': a non-empty string is required.`)
  return value
}

/** Only the default domain exists; naming another one can match nothing. */
function checkDomain (holder: Record<string, unknown>, what: string): void {
  if (holder.domain === undefined) return
  const domain = record(holder.domain, `${what}.domain`)
  const id = optionalText(domain, 'id', `${what}.domain`)
  const name = optionalText(domain, 'name', `${what}.domain`)
  if ((id !== undefined && id !== 'default') || (name !== undefined && name !== 'Default')) {
    throw new IdentityError('Unauthorized', `Could not find domain: ${id ?? name ?? ''}.`)
  }
}

/** POST /auth/tokens: `auth.identity.password.user` {name or id, password} and an optional `auth.scope.project` {id, or name (+ domain)}. */
function parseLogin (body: Record<string, unknown>): Login {
  const auth = record(body.auth, 'auth')
  const identity = record(auth.identity, 'auth.identity')
  if (!Array.isArray(identity.methods) || !identity.methods.includes('password')) {
    throw bad('Only the password method is supported: auth.identity.methods must include "password".')
  }
  const user = record(record(identity.password, 'auth.identity.password').user, 'auth.identity.password.user')
  const name = optionalText(user, 'name', 'auth.identity.password.user')
  const id = optionalText(user, 'id', 'auth.identity.password.user')
  if (name === undefined && id === undefined) throw bad('auth.identity.password.user needs a name or an id.')
  if (typeof user.password !== 'string') throw bad('auth.identity.password.user.password must be a string.')
  if (name !== undefined) checkDomain(user, 'auth.identity.password.user')
  if (auth.scope === undefined) return { user: { name, id }, password: user.password }
  const scope = record(auth.scope, 'auth.scope')
  if (scope.project === undefined) throw bad('Only project scope is supported: auth.scope.project {id, or name and domain}.')
  const project = record(scope.project, 'auth.scope.project')
  const projectId = optionalText(project, 'id', 'auth.scope.project')
  const projectName = optionalText(project, 'name', 'auth.scope.project')
  if (projectId === undefined && projectName === undefined) throw bad('auth.scope.project needs an id or a name.')
  if (projectName !== undefined) checkDomain(project, 'auth.scope.project')
  return { user: { name, id }, password: user.password, project: { id: projectId, name: projectName } }
}
