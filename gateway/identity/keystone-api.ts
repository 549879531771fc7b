import type { FastifyInstance } from 'fastify'
import type { Logger } from '../../lib/logger.ts'
import { OPENSTACK } from '../openstack/api-constraint.ts'
import { HttpError, readJson, requireToken, respond } from '../openstack/http.ts'
import type { IssuedToken, TokenService } from './token-service.ts'
import type { Users } from './users.ts'

export interface KeystoneApiComponents {
  users: Users
  tokens: TokenService
  logger: Logger
}

/** Where the service catalog says each API lives, relative to the public URL of the request. */
const CATALOG = [
  { type: 'identity', name: 'keystone', path: '/identity/v3' },
  { type: 'block-storage', name: 'cinder', path: '/volume/v3/{project}' },
  { type: 'volumev3', name: 'cinderv3', path: '/volume/v3/{project}' },
  { type: 'image', name: 'glance', path: '/image' },
  { type: 'compute', name: 'nova', path: '/compute/v2.1' },
  { type: 'object-store', name: 'swift', path: '/v1/AUTH_{project}' }
]

const TITLES: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 413: 'Request Entity Too Large', 500: 'Internal Server Error' }

/**
 * Keystone v3's token API (the subset the openstack CLI and our own CLI use)
 * under /identity/v3: password login scoped to a project, token
 * validation, and a service catalog pointing at this same gateway.
 */
export function registerKeystoneApi (app: FastifyInstance, components: KeystoneApiComponents): void {
  const { users, tokens, logger } = components
  const render = (status: number, message: string): unknown => ({ error: { code: status, title: TITLES[status] ?? 'Error', message } })

  app.route({
    method: 'GET',
    url: '/identity/v3',
    constraints: OPENSTACK,
    handler: async (request, reply) => await respond(request, reply, logger, () => undefined, render, async () => {
      reply.send({ version: { id: 'v3.14', status: 'stable', links: [{ rel: 'self', href: `${baseUrl(request)}/identity/v3/` }] } })
    })
  })

  app.route({
    method: 'POST',
    url: '/identity/v3/auth/tokens',
    constraints: OPENSTACK,
    handler: async (request, reply) => await respond(request, reply, logger, () => undefined, render, async () => {
      const login = parseLogin(await readJson(request))
      const principal = await users.login(login.user, login.password, login.project)
      if (principal === undefined) throw new HttpError(401, 'The request you have made requires authentication.')
      const issued = tokens.issue(principal)
      logger.info({ user: principal.userName, project: principal.projectId }, 'token issued')
      reply.code(201).header('x-subject-token', issued.token).send({ token: tokenView(issued, baseUrl(request)) })
    })
  })

  app.route({
    method: ['GET', 'HEAD'],
    url: '/identity/v3/auth/tokens',
    constraints: OPENSTACK,
    handler: async (request, reply) => await respond(request, reply, logger, () => undefined, render, async () => {
      requireToken(request, tokens)
      const subject = request.headers['x-subject-token']
      const issued = typeof subject === 'string' ? tokens.verify(subject) : undefined
      if (issued === undefined) throw new HttpError(404, 'Could not find token.')
      reply.header('x-subject-token', issued.token)
      if (request.method === 'HEAD') reply.send()
      else reply.send({ token: tokenView(issued, baseUrl(request)) })
    })
  })
}

function parseLogin (body: Record<string, unknown>): { user: string, password: string, project: string } {
  const auth = body.auth as { identity?: { methods?: unknown, password?: { user?: { name?: unknown, id?: unknown, password?: unknown } } }, scope?: { project?: { name?: unknown, id?: unknown } } } | undefined
  const user = auth?.identity?.password?.user
  const name = user?.name ?? user?.id
  const project = auth?.scope?.project?.id ?? auth?.scope?.project?.name
  if (!Array.isArray(auth?.identity?.methods) || !auth.identity.methods.includes('password') ||
    typeof name !== 'string' || typeof user?.password !== 'string') {
    throw new HttpError(400, 'only password authentication is supported: auth.identity.password.user {name, password}')
  }
  if (typeof project !== 'string') throw new HttpError(400, 'a project scope is required: auth.scope.project {name or id}')
  return { user: name, password: user.password, project }
}

function tokenView (issued: IssuedToken, base: string): unknown {
  const p = issued.principal
  const domain = { id: 'default', name: 'Default' }
  return {
    methods: ['password'],
    issued_at: issued.issuedAt.toISOString(),
    expires_at: issued.expiresAt.toISOString(),
    user: { id: p.userId, name: p.userName, domain },
    project: { id: p.projectId, name: p.projectName, domain },
    roles: p.roles.map((name) => ({ id: name, name })),
    catalog: CATALOG.map((service) => ({
      type: service.type,
      name: service.name,
      id: service.name,
      endpoints: ['public', 'internal', 'admin'].map((iface) => ({
        id: `${service.name}-${iface}`, interface: iface, region: 'RegionOne', region_id: 'RegionOne',
        url: base + service.path.replace('{project}', p.projectId)
      }))
    }))
  }
}

function baseUrl (request: { protocol: string, headers: { host?: string } }): string {
  return `${request.protocol}://${request.headers.host ?? 'localhost'}`
}
